/**
 * How a push is wrapped — the part of the protocol the documentation does not show
 * (era-platform.md §4) and the first thing a real installation can tell us. Each push is
 * described by where things sit in it, never by what they hold; equal descriptions are counted
 * together.
 */
import { isObject, type JsonObject } from '../era';
import { shownName } from './shapes';

/** The distinct envelopes kept; a platform that varies more than this is summarised. */
const ENVELOPES_KEPT = 20;
const TOPICS_PER_ENVELOPE = 8;

/** The first of `keys` that `params` holds as a non-empty string. */
function stringKey(params: JsonObject, keys: readonly string[]): string | undefined {
  return keys.find((key) => typeof params[key] === 'string' && params[key] !== '');
}

export interface EnvelopeFacts {
  /** One line that says where everything sits; equal for pushes wrapped alike. */
  description: string;
  /** `<class>.<type>` when it could be found, for the examples listed with an envelope. */
  topic: string | undefined;
  decodable: boolean;
}

/**
 * Where class, type, body, subscription id and qid sit in `["method", params]`, in the order the
 * client's decoder looks for them. `subscriptionIds` are the ids the client subscribed with, so
 * the field that carries one is found whatever it is called.
 */
export function describeEnvelope(method: string, params: JsonObject, subscriptionIds: ReadonlySet<string>): EnvelopeFacts {
  const parts: string[] = [];
  const classKey = stringKey(params, ['class', 'eventclass']);
  const typeKey = stringKey(params, ['type', 'eventtype', 'event']);
  let topic: string | undefined;
  let fieldsIn = 'params';
  const dot = method.indexOf('.');
  if (classKey !== undefined && typeKey !== undefined) {
    parts.push(`method "${shownName(method)}"`, `class in params.${classKey}, type in params.${typeKey}`);
    topic = `${String(params[classKey])}.${String(params[typeKey])}`;
    if (isObject(params.data)) fieldsIn = 'params.data';
  } else if (dot > 0 && dot < method.length - 1) {
    parts.push('method "<class>.<type>" (class and type in the method name)');
    topic = method;
  } else {
    parts.push(`method "${shownName(method)}"`, 'no class and type found (the client cannot decode it)');
  }
  parts.push(`fields in ${fieldsIn}`);
  const idKey = Object.keys(params).find((key) => typeof params[key] === 'string' && subscriptionIds.has(params[key] as string));
  if (idKey !== undefined) parts.push(`subscription id in params.${shownName(idKey)}`);
  else parts.push(params.id === undefined ? 'no subscription id' : 'params.id is not one of the subscription ids');
  parts.push(params.qid === undefined ? 'no qid' : 'qid present');
  return { description: parts.join('; '), topic: topic === undefined ? undefined : shownName(topic), decodable: topic !== undefined };
}

interface Tally {
  count: number;
  topics: Set<string>;
}

/** Pushes counted by envelope. */
export class EnvelopeTally {
  private readonly seen = new Map<string, Tally>();
  private others = 0;
  /** Frames that were not a `["method", {params}]` array at all. */
  malformed = 0;
  total = 0;

  add(facts: EnvelopeFacts): void {
    this.total++;
    let tally = this.seen.get(facts.description);
    if (tally === undefined) {
      if (this.seen.size >= ENVELOPES_KEPT) {
        this.others++;
        return;
      }
      tally = { count: 0, topics: new Set() };
      this.seen.set(facts.description, tally);
    }
    tally.count++;
    if (facts.topic !== undefined && tally.topics.size < TOPICS_PER_ENVELOPE) tally.topics.add(facts.topic);
  }

  addMalformed(): void {
    this.total++;
    this.malformed++;
  }

  /** The distinct envelopes, most frequent first. */
  get kinds(): Array<{ description: string; count: number; topics: string[] }> {
    return [...this.seen].map(([description, t]) => ({ description, count: t.count, topics: [...t.topics].sort() })).sort((a, b) => b.count - a.count);
  }

  lines(): string[] {
    const out = this.kinds.map((k) => `${k.count} × ${k.description}${k.topics.length > 0 ? ` (e.g. ${k.topics.join(', ')})` : ''}`);
    if (this.others > 0) out.push(`${this.others} × other envelopes (more than ${ENVELOPES_KEPT} kinds: not listed)`);
    if (this.malformed > 0) out.push(`${this.malformed} × not a ["method", {params}] JSON array`);
    return out;
  }
}
