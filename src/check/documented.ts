/**
 * What the vendor's documentation says about the shapes the report sees, to name where an
 * installation differs from it. Only documented facts belong here: a shape the project guessed
 * (the push envelope, the call list's body, setup_result) is described by the report but is
 * never "a difference", since there is nothing documented to differ from.
 */
import type { JsonType, FieldShapes } from './shapes';

interface EventDoc {
  /** Fields the documentation names for this event type. */
  fields: readonly string[];
  /** Fields whose JSON type the documentation states. */
  types?: ReadonlyMap<string, JsonType>;
  /** Names an installation (or an older model) used instead of a documented one: wrong → right. */
  misnamed?: ReadonlyMap<string, string>;
}

/** Fields common to every `callevents` type. */
const CALLEVENT_COMMON = ['eventid', 'eventts', 'cid', 'invitets', 'invitedt', 'connectionid', 'acallid'];

const INVITE: EventDoc = {
  fields: [...CALLEVENT_COMMON, 'callednum', 'fromusername', 'fromdomain', 'fromouter', 'urifrom', 'urito', 'urireferedby', 'isreferred', 'isreplacing'],
  types: new Map<string, JsonType>([['isreferred', 'string'], ['isreplacing', 'string'], ['fromouter', 'boolean']]),
  misnamed: new Map([['isreplaced', 'isreplacing']]),
};

const RECORD_INFO: EventDoc = { fields: ['key'] };

/** The documented fields of `<class>.<type>`, or undefined for a type the documentation does not detail. */
function documentedEvent(topic: string): EventDoc | undefined {
  const dot = topic.indexOf('.');
  const cls = topic.slice(0, dot);
  const type = topic.slice(dot + 1);
  if (cls === 'callevents') {
    if (type === 'invite') return INVITE;
    if (type === 'rec_info') return { fields: [...CALLEVENT_COMMON, 'isrec', 'dir', 'fromnum', 'tonum', 'domain'] };
    if (type.startsWith('dlg_')) return { fields: [...CALLEVENT_COMMON, 'dialogid'] };
    return { fields: CALLEVENT_COMMON };
  }
  if (cls === 'ccsevents' && (type === 'connection_set_record_info' || type === 'set_call_record_info')) return RECORD_INFO;
  return undefined;
}

function typeList(types: ReadonlySet<JsonType>): string {
  return [...types].sort().join('|');
}

/** How the fields seen for `topic` differ from the documentation, one sentence each. */
export function eventDifferences(topic: string, seen: FieldShapes): string[] {
  const doc = documentedEvent(topic);
  if (doc === undefined) return [];
  const out: string[] = [];
  const misnamedAs = new Map<string, string>();
  for (const [wrong, right] of doc.misnamed ?? []) if (seen.has(wrong)) misnamedAs.set(right, wrong);
  const missing: string[] = [];
  for (const field of doc.fields) {
    if (seen.has(field)) continue;
    const instead = misnamedAs.get(field);
    if (instead !== undefined) out.push(`${topic}: ${instead} instead of ${field}`);
    else missing.push(field);
  }
  if (missing.length > 0) out.push(`${topic}: no ${missing.join(', ')} (documented)`);
  for (const [field, type] of doc.types ?? []) {
    const types = seen.types(field);
    if (types !== undefined && (types.size !== 1 || !types.has(type))) out.push(`${topic}: ${field} is ${typeList(types)} (documented: ${type})`);
  }
  for (const [wrong, right] of doc.misnamed ?? []) {
    const types = seen.types(wrong);
    if (types !== undefined && seen.has(right)) out.push(`${topic}: ${wrong} (${typeList(types)}) besides the documented ${right}`);
  }
  return out;
}

/** The completion types of dlg_end the documentation names (era-platform.md §5.1). */
export const COMPLETION_TYPES: ReadonlySet<string> = new Set(['bye', 'cancel', 'timeout', 'error', 'call_terminate', 'call_final']);

/** Dialog events that say the dialog is under way: none may follow its dlg_end ("the dialog ended"). */
const DIALOG_UNDER_WAY = new Set(['dlg_init', 'dlg_call', 'fork_start', 'dlg_pickup', 'dlg_start']);

/**
 * One dialog's order checked against what the event descriptions (era-platform.md §5.1) rule
 * out: anything after its dlg_stop (the same end, sent again 3 s after dlg_end), the dialog
 * going on after its dlg_end, a dlg_pickup after its dlg_start ("sent before dlg_start"). What
 * the project only modelled (one dialog per ring group, a transfer's second dialog) is never
 * a contradiction here.
 */
export class DialogOrder {
  private started = false;
  private ended = false;
  private stopped = false;

  /** Takes the dialog's next event type; says how it contradicts the documented order, if it does. */
  next(type: string): string | undefined {
    let contradiction: string | undefined;
    if (this.stopped) contradiction = "after its dialog's dlg_stop (documented: dlg_stop is the dialog's end, sent 3 s after dlg_end)";
    else if (this.ended && DIALOG_UNDER_WAY.has(type)) contradiction = "after its dialog's dlg_end (documented: at dlg_end the dialog ended)";
    else if (this.started && type === 'dlg_pickup') contradiction = "after its dialog's dlg_start (documented: dlg_pickup comes before dlg_start)";
    if (type === 'dlg_start') this.started = true;
    else if (type === 'dlg_end') this.ended = true;
    else if (type === 'dlg_stop') this.stopped = true;
    return contradiction;
  }
}

/** The fields the documentation shows in a `connection_info` reply (beside qid and result). */
export const CONNECTION_INFO_FIELDS: readonly string[] = ['domain', 'ownertype', 'capabilities', 'sessionid', 'connectionid', 'timestamp'];

/** Cookie names the documentation gives for the REST session (white-label copies differ). */
export const SESSION_COOKIES: readonly string[] = ['EraSession', 'RSession'];
