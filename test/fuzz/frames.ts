/**
 * WebSocket frames for fuzzing the client's decoder: valid frames of the three push envelopes
 * of era-platform.md §4 and of replies, and mutations of them at the value level (types
 * flipped, keys dropped or doubled, prototype keys, deep nesting, huge values) and at the text
 * level (truncated, bytes changed, junk spliced in).
 */
import { randomUUID } from 'node:crypto';
import type { Rng } from './prng';
import { PROTOTYPE_KEYS, objectWith, randomJson, randomNumber, randomString } from './values';

type Json = Record<string, unknown>;

const CALLEVENT_TYPES = ['invite', 'dlg_init', 'dlg_call', 'dlg_start', 'dlg_end', 'dlg_stop', 'rec_info'];
const CCSEVENT_TYPES = ['call_create', 'call_set_state', 'call_dtmf', 'connection_set_record_info', 'connection_failure'];

/** A placeholder replaced, after JSON.stringify, by text nested this deep (too deep to build as a value). */
const DEEP = /"@@deep:(\d+):(\w+)@@"/g;

function deepText(depth: number, kind: string): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Fields of a plausible event, as the platform sends them. */
export function eventFields(rng: Rng, cls: string, type: string): Json {
  const cid = randomUUID();
  const invitets = 1_700_000_000_000 + rng.int(1_000_000);
  const fields: Json = {
    eventid: randomUUID(),
    eventts: invitets + rng.int(10_000),
    cid,
    invitets,
    invitedt: new Date(invitets).toISOString(),
    connectionid: `${cid}.${invitets}`,
    fromnum: '+79990001122',
    tonum: '101',
  };
  if (cls === 'callevents' && type === 'dlg_end') fields.reason = 'bye';
  if (type === 'call_set_state') fields.state = rng.pick(['ring', 'talk', 'hold', 'end']);
  if (type === 'call_dtmf') fields.dtmf = '1';
  return fields;
}

/** A valid frame: an event in one of the three envelopes, or a reply. */
export function validFrame(rng: Rng): unknown[] {
  const cls = rng.chance(0.7) ? 'callevents' : 'ccsevents';
  const type = rng.pick(cls === 'callevents' ? CALLEVENT_TYPES : CCSEVENT_TYPES);
  const data = eventFields(rng, cls, type);
  const qid = rng.between(1, 1_000_000);
  switch (rng.int(4)) {
    case 0:
      return ['event', { qid, id: randomUUID(), class: cls, type, data }];
    case 1: {
      const classKey = rng.pick(['class', 'eventclass']);
      const typeKey = rng.pick(['type', 'eventtype', 'event']);
      return [rng.pick(['event', 'push', 'notify']), { qid, ...data, [classKey]: cls, [typeKey]: type }];
    }
    case 2:
      return [`${cls}.${type}`, { qid, ...data }];
    default:
      return [rng.pick(['subscribe_result', 'connection_info_result', 'event_result']), { qid, result: rng.pick(['ok', 'error']) }];
  }
}

/** A junk value for a mutation: JSON-like, a huge number or string, or deep nesting. */
function junk(rng: Rng): unknown {
  switch (rng.int(6)) {
    case 0:
      return `@@deep:${rng.pick([100, 5_000, 20_000])}:${rng.pick(['array', 'object'])}@@`;
    case 1:
      return randomNumber(rng);
    case 2:
      return randomString(rng, 0.05);
    default:
      return randomJson(rng);
  }
}

/** Every container inside `root` (objects and arrays), to pick a place to mutate. */
function containers(root: unknown, out: Array<Json | unknown[]> = [], depth = 0): Array<Json | unknown[]> {
  if (depth > 6 || typeof root !== 'object' || root === null) return out;
  out.push(root as Json | unknown[]);
  for (const v of Object.values(root)) containers(v, out, depth + 1);
  return out;
}

/** One structural change somewhere in the frame (which it changes in place, or replaces). */
function mutateValue(rng: Rng, frame: unknown): unknown {
  const places = containers(frame);
  if (places.length === 0 || rng.chance(0.05)) return junk(rng);
  const target = rng.pick(places);
  const keys = Object.keys(target);
  const key = keys.length > 0 ? rng.pick(keys) : undefined;
  const record = target as Json;
  switch (rng.int(8)) {
    case 0: // flip a value's type
      if (key !== undefined) record[key] = junk(rng);
      break;
    case 1: // drop a key
      if (key !== undefined) {
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete record[key];
      }
      break;
    case 2: // a prototype key as data
      if (!Array.isArray(target)) Object.defineProperty(target, rng.pick(PROTOTYPE_KEYS), { value: junk(rng), enumerable: true, writable: true, configurable: true });
      break;
    case 3: // numbers as ids
      if (!Array.isArray(target)) record[rng.pick(['qid', 'id', 'eventid', 'connectionid', 'cid', 'class', 'type'])] = randomNumber(rng);
      break;
    case 4: // an array where an object was, or the other way round
      if (key !== undefined && typeof record[key] === 'object' && record[key] !== null) {
        const inner = record[key] as Json;
        record[key] = Array.isArray(inner) ? objectWith(inner.map((v, i) => [String(i), v])) : Object.values(inner);
      }
      break;
    case 5: // the frame's elements swapped, or more of them
      if (Array.isArray(frame)) {
        if (rng.chance(0.5)) frame.reverse();
        else frame.push(junk(rng));
      }
      break;
    case 6: // wrapped
      return rng.chance(0.5) ? [frame] : { frame };
    default: // envelope keys with the wrong content
      if (!Array.isArray(target)) record[rng.pick(['class', 'eventclass', 'type', 'eventtype', 'event', 'data'])] = junk(rng);
      break;
  }
  return frame;
}

/** One change to the text: truncation, a changed or inserted character, junk spliced in, a doubled key. */
function mutateText(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(7)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + String.fromCharCode(rng.int(0x10000)) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + rng.pick(['{', '}', '[', ']', ',', ':', '"', '\\', '\u0000', '1e999', 'NaN', '-']) + text.slice(at);
    case 3: // a key twice: JSON.parse keeps the last one
      return text.replace('{', `{"${rng.pick(['class', 'type', 'qid', 'data', 'eventid', '__proto__'])}":${JSON.stringify(junk(rng)) ?? 'null'},`);
    case 4:
      return rng.pick(['', ' ', 'null', '0', '"event"', '[]', '[null]', '["event"]', '["event",null]', '[1,{}]', '{"0":"event"}', '\ufeff[]']);
    case 5:
      return `${rng.pick(['1e99999', '-1e99999', '123456789012345678901234567890', '0.' + '1'.repeat(400)])}`;
    default:
      return text + text;
  }
}

/** A frame as text: a valid one, or one with a few value and text mutations. */
export function fuzzFrame(rng: Rng): string {
  let frame: unknown = validFrame(rng);
  const valueMutations = rng.chance(0.15) ? 0 : rng.between(1, 3);
  for (let i = 0; i < valueMutations; i++) frame = mutateValue(rng, frame);
  let text = (JSON.stringify(frame) ?? 'null').replace(DEEP, (_m, depth: string, kind: string) => deepText(Number(depth), kind));
  if (rng.chance(0.3)) text = mutateText(rng, text);
  return text;
}

/** A push whose qid is nested too deep to be echoed back with JSON.stringify. */
export function deepQidFrames(): string[] {
  const deep = deepText(20_000, 'array');
  return [`["callevents.invite",{"qid":${deep},"eventid":"deep-qid-1"}]`, `["mystery_push",{"qid":${deep}}]`];
}
