/**
 * The call-order step: how the installation sequences a call (era-platform.md §5.4). The package
 * models a call that rings several phones as one dialog with a fork per phone, and a transfer as
 * a second dialog or call, while the vendor's pages do not show the order. For every call seen
 * while listening this keeps the order of its event types, per call and per dialog, with the
 * completion type of dlg_end and dlg_stop; equal orders are counted together. Ids only group the
 * events: what is shown is type names (masked as field names are), documented completion types
 * and counts — never a number, an id or another field's value.
 */
import { type EraEvent, RECORDING_TOPICS } from '../era';
import { judged, result, type StepResult } from './context';
import { COMPLETION_TYPES, DialogOrder } from './documented';
import { maskValues } from './shapes';

/** Calls followed: the first ones seen; the events of later calls are counted, not ordered. */
const CALLS_FOLLOWED = 1000;
/** Orders listed, of whole calls and of calls cut by the window each; the rarer ones are counted. */
const ORDERS_LISTED = 20;
/** Runs kept per call and per dialog, so that a call that never ends is summarised, not dumped. */
const RUNS_KEPT = 60;
/** Dialogs of one call ordered apart; more are counted. */
const DIALOGS_KEPT = 10;
/** Distinct calls counted beyond those followed, and dialogs of one call beyond those ordered (ids kept only to count them). */
const CALLS_COUNTED = 100_000;
const DIALOGS_COUNTED = 1000;
const CONTRADICTIONS_KEPT = 20;

/**
 * The call-centre events that take part in a call's order: the recording's key (the call log
 * waits for it, so its place against dlg_end and dlg_stop matters) and a failure before any
 * dialog. The leg and connection events are left out: per leg they repeat what fork_start and
 * the dialog events already say, and would triple the length of every order.
 */
const CCS_IN_ORDER: ReadonlySet<string> = new Set([...RECORDING_TOPICS, 'ccsevents.connection_failure']);
/** A call's last word: when nothing but a recording's key came after it, the call was seen to its end. */
const CALL_OVER: ReadonlySet<string> = new Set(['callevents.dlg_stop', 'ccsevents.connection_failure']);
/** The documented first event of a call: a call whose first event is another started before the window. */
const CALL_START = 'callevents.invite';
const WITH_COMPLETION_TYPE: ReadonlySet<string> = new Set(['dlg_end', 'dlg_stop']);
/** A type shown by its name must be a word (ids and numbers in it masked after); any other is a placeholder. */
const TYPE_WORD = /^[A-Za-z0-9_.-]{1,40}$/;

function typeName(type: string): string {
  return TYPE_WORD.test(type) ? maskValues(type) : '<odd type name>';
}

/** An event as it appears in an order: its type, and for dlg_end/dlg_stop the completion type. */
function orderToken(ev: EraEvent): string {
  const name = typeName(ev.type);
  if (ev.class !== 'callevents' || !WITH_COMPLETION_TYPE.has(ev.type)) return name;
  const reason = ev.payload.reason;
  if (reason === undefined || reason === null || reason === '') return name;
  return `${name}(${typeof reason === 'string' && COMPLETION_TYPES.has(reason) ? reason : 'other'})`;
}

/** A bounded count of distinct keys. */
class Distinct {
  private readonly keys = new Set<string>();

  constructor(private readonly bound: number) {}

  add(key: string): void {
    if (this.keys.size < this.bound) this.keys.add(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** The count as shown: "at least" once the bound was reached. */
  toString(): string {
    return this.keys.size < this.bound ? String(this.keys.size) : `at least ${this.bound}`;
  }
}

/** Event types in order, runs of one token collapsed to `token×n`. */
class Runs {
  private readonly tokens: string[] = [];
  private readonly counts: number[] = [];
  private beyond = 0;

  push(token: string): void {
    const last = this.tokens.length - 1;
    if (this.beyond === 0 && last >= 0 && this.tokens[last] === token) {
      this.counts[last]++;
    } else if (this.tokens.length < RUNS_KEPT) {
      this.tokens.push(token);
      this.counts.push(1);
    } else {
      this.beyond++;
    }
  }

  toString(): string {
    const parts = this.tokens.map((token, i) => (this.counts[i] === 1 ? token : `${token}×${this.counts[i]}`));
    if (this.beyond > 0) parts.push(`… ${this.beyond} more events`);
    return parts.join(', ');
  }
}

interface Dialog {
  runs: Runs;
  order: DialogOrder;
}

interface CallTrace {
  runs: Runs;
  /** By dialogid, in the order they appeared. */
  dialogs: Map<string, Dialog>;
  moreDialogs: Distinct;
  /** Its first event was the invite: the window saw it start. */
  fromStart: boolean;
  /** Its last event (a recording's key aside) was a call's last word. */
  over: boolean;
}

/** How the window cut a call, in the order they are listed. */
const CUTS = ['started before it', 'still going at its end', 'started before it and still going at its end'] as const;
type Cut = (typeof CUTS)[number];

function cutOf(call: CallTrace): Cut | undefined {
  if (call.fromStart) return call.over ? undefined : 'still going at its end';
  return call.over ? 'started before it' : 'started before it and still going at its end';
}

function orderOf(call: CallTrace): string {
  const order = call.runs.toString();
  if (call.dialogs.size + call.moreDialogs.size < 2) return order;
  const dialogs = [...call.dialogs.values()].map((d, i) => `dialog ${i + 1}: ${d.runs.toString()}`);
  if (call.moreDialogs.size > 0) dialogs.push(`… ${call.moreDialogs.toString()} more dialogs`);
  return `${order} — ${dialogs.join('; ')}`;
}

/** Equal orders counted together; listed most frequent first, at most ORDERS_LISTED. */
class OrderTally {
  private readonly counts = new Map<string, number>();

  add(line: string): void {
    this.counts.set(line, (this.counts.get(line) ?? 0) + 1);
  }

  get calls(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  get orders(): number {
    return this.counts.size;
  }

  /** `n× order` lines; `label` (when given) says what the lines are. */
  lines(label = ''): string[] {
    const sorted = [...this.counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    const out = sorted.slice(0, ORDERS_LISTED).map(([line, count]) => `${label}${count}× ${line}`);
    const rest = sorted.slice(ORDERS_LISTED);
    if (rest.length > 0) {
      const calls = rest.reduce((sum, [, count]) => sum + count, 0);
      out.push(`${label}… ${calls} more call${calls === 1 ? '' : 's'} in ${rest.length} rarer order${rest.length === 1 ? '' : 's'}, not listed (at most ${ORDERS_LISTED} are)`);
    }
    return out;
  }
}

/** The order of every call the listener sees. Feed it with `add`; `step()` is the report's step. */
export class CallOrders {
  private readonly calls = new Map<string, CallTrace>();
  private readonly unfollowed = new Distinct(CALLS_COUNTED);
  private unfollowedEvents = 0;
  /** Call events that named no call (no connectionid, no cid). */
  private unnamed = 0;
  private readonly contradictions = new Map<string, number>();
  private moreContradictions = 0;

  readonly add = (ev: EraEvent): void => {
    if (ev.class !== 'callevents' && !CCS_IN_ORDER.has(ev.topic)) return;
    const key = ev.connectionId ?? ev.callId;
    if (key === undefined) {
      this.unnamed++;
      return;
    }
    const call = this.follow(key, ev.topic);
    if (call === undefined) return;
    const token = orderToken(ev);
    call.runs.push(token);
    if (!RECORDING_TOPICS.includes(ev.topic)) call.over = CALL_OVER.has(ev.topic);
    if (ev.class === 'callevents') this.addToDialog(call, ev, token);
  };

  private follow(key: string, topic: string): CallTrace | undefined {
    const known = this.calls.get(key);
    if (known !== undefined) return known;
    if (this.calls.size >= CALLS_FOLLOWED) {
      this.unfollowed.add(key);
      this.unfollowedEvents++;
      return undefined;
    }
    const call: CallTrace = { runs: new Runs(), dialogs: new Map(), moreDialogs: new Distinct(DIALOGS_COUNTED), fromStart: topic === CALL_START, over: false };
    this.calls.set(key, call);
    return call;
  }

  private addToDialog(call: CallTrace, ev: EraEvent, token: string): void {
    const id = ev.payload.dialogid;
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') return;
    const key = String(id);
    let dialog = call.dialogs.get(key);
    if (dialog === undefined) {
      if (call.dialogs.size >= DIALOGS_KEPT) {
        call.moreDialogs.add(key);
        return;
      }
      dialog = { runs: new Runs(), order: new DialogOrder() };
      call.dialogs.set(key, dialog);
    }
    dialog.runs.push(token);
    const contradiction = dialog.order.next(ev.type);
    if (contradiction !== undefined) this.contradict(`${typeName(ev.type)} ${contradiction}`);
  }

  private contradict(sentence: string): void {
    const count = this.contradictions.get(sentence);
    if (count !== undefined) this.contradictions.set(sentence, count + 1);
    else if (this.contradictions.size < CONTRADICTIONS_KEPT) this.contradictions.set(sentence, 1);
    else this.moreContradictions++;
  }

  /** The step's result: a description (`pass`), `differs` only where an order contradicts the documentation. */
  step(): StepResult {
    if (this.calls.size === 0 && this.unnamed === 0) return result('skipped', 'no call event in the window');
    const whole = new OrderTally();
    const cut = new Map<Cut, OrderTally>();
    for (const call of this.calls.values()) {
      const by = cutOf(call);
      if (by === undefined) {
        whole.add(orderOf(call));
        continue;
      }
      let tally = cut.get(by);
      if (tally === undefined) {
        tally = new OrderTally();
        cut.set(by, tally);
      }
      tally.add(orderOf(call));
    }
    const details = [
      'per call, the order of its callevents and of the ccsevents that bring the recording\'s key or a failure; '
        + 'type×n: n in a row; (…): the completion type of dlg_end and dlg_stop, "other" when the documentation does not name it; '
        + '"dialog n:" each dialog\'s own order when a call had several',
      ...whole.lines(),
    ];
    let cutCalls = 0;
    for (const by of CUTS) {
      const tally = cut.get(by);
      if (tally === undefined) continue;
      cutCalls += tally.calls;
      details.push(...tally.lines(`cut by the window (${by}): `));
    }
    if (this.unfollowed.size > 0) {
      details.push(`${this.unfollowed.toString()} more calls (${this.unfollowedEvents} events) not followed: the first ${CALLS_FOLLOWED} calls are`);
    }
    if (this.unnamed > 0) details.push(`${this.unnamed} call event${this.unnamed === 1 ? '' : 's'} named no call (no connectionid, no cid): in no order`);
    const differences = [...this.contradictions].map(([sentence, count]) => `${count}× ${sentence}`);
    if (this.moreContradictions > 0) differences.push(`${this.moreContradictions} more events out of the documented order`);
    for (const difference of differences) details.push(`differs: ${difference}`);

    const parts = [whole.calls === 0 ? 'no call seen whole' : `${whole.calls} call${whole.calls === 1 ? '' : 's'} in ${whole.orders} order${whole.orders === 1 ? '' : 's'}`];
    if (cutCalls > 0) parts.push(`${cutCalls} cut by the window`);
    if (this.unfollowed.size > 0) parts.push(`${this.unfollowed.toString()} more not followed`);
    const contradicting = this.contradictions.size + (this.moreContradictions > 0 ? 1 : 0);
    if (contradicting > 0) parts.push(`${contradicting} contradiction${contradicting === 1 ? '' : 's'} of the documented order`);
    return result(judged(false, differences), parts.join(', '), details);
  }
}
