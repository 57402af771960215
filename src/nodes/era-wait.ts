import { AFTER_END_TOPICS, type CallState, DIALOG_STOP_TOPIC, EraError, type EraEvent, isTopicPattern, matchesPattern, RECORDING_TOPICS, shownValue, snapshot, validateCallId } from '../era';
import { asEraError } from './lib/action';
import { DeadlineQueue, type Deadline } from './lib/deadlines';
import { CALL, evaluateFields, isBlank } from './lib/inputs';
import type { DoneFn, NodeDef, NodeMessage, RedApi, RedNode, SendFn } from './lib/red';
import { linkToServer } from './lib/server-link';
import { failureStatus } from './lib/status';

const STATES = new Set(['ringing', 'talking', 'held', 'ended']);
const WAIT_FIELDS = { call: CALL, until: ['callevents.dlg_start', 'str'], timeout: ['30', 'num'] } as const;
const DEFAULT_MAX_WAITS = 10_000;

interface Wait extends Deadline {
  call: string;
  until: string;
  msg: NodeMessage;
  send: SendFn;
  done: DoneFn;
}

/** Whether the call, as the table knows it now, already shows what is awaited. */
function alreadyHappened(until: string, call: CallState | undefined): boolean {
  if (!call) return false;
  if (STATES.has(until)) return call.state === until;
  // Events leave marks in the state; without them, only future events count.
  if (matchesPattern(until, 'callevents.dlg_start')) return call.answeredAt !== undefined;
  if (matchesPattern(until, 'callevents.dlg_end')) return call.endedAt !== undefined;
  if (RECORDING_TOPICS.some((t) => matchesPattern(until, t))) return call.recordingKey !== undefined;
  return false;
}

/**
 * Whether the end of the call settles the wait: what is awaited can no longer come. A wait for
 * an event that still comes after dlg_end (a flow that waits for the recording's key after the
 * call ended is the common case) is settled by dlg_stop instead.
 */
function endSettles(until: string, topic?: string): boolean {
  return STATES.has(until) || topic === DIALOG_STOP_TOPIC || !AFTER_END_TOPICS.some((t) => matchesPattern(until, t));
}

/** Number(value), or NaN for what cannot become a number (a Symbol, an object whose valueOf throws). */
function toNumber(value: unknown): number {
  try {
    return Number(value);
  } catch {
    return Number.NaN;
  }
}

/** The node's cap on waits held at once: a positive integer, else the default. */
function maxWaitsOf(def: NodeDef): number {
  const n = toNumber(def.maxWaits);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_WAITS;
}

function satisfiedBy(until: string, ev: EraEvent): boolean {
  return STATES.has(until) ? ev.call?.state === until : matchesPattern(until, ev.topic);
}

export = function register(RED: RedApi): void {
  function EraWait(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = linkToServer(RED, node, def);
    const waits = new Map<string, Set<Wait>>();
    const maxWaits = maxWaitsOf(def);
    let closed = false;

    const finish = (wait: Wait, output: 0 | 1, call: CallState | undefined) => {
      const set = waits.get(wait.call);
      if (!set?.delete(wait)) return;
      if (set.size === 0) waits.delete(wait.call);
      queue.remove(wait);
      release(wait, output, call);
    };

    // Each message gets a call object of its own: a flow that edits it must not change what
    // another wait, or another node, was given.
    const release = (wait: Wait, output: 0 | 1, call: CallState | undefined) => {
      if (call) wait.msg.call = snapshot(call);
      wait.send(output === 0 ? [wait.msg, null] : [null, wait.msg]);
      wait.done();
    };

    const queue = new DeadlineQueue<Wait>((wait) => {
      const client = safeClient();
      finish(wait, 1, client?.calls.get(wait.call));
    });

    const safeClient = () => {
      try {
        return link.client();
      } catch {
        return undefined;
      }
    };

    let handle: { close(): void } | undefined;
    try {
      handle = link.client().listen({ events: ['callevents.*', 'ccsevents.*'], objects: [], attachCall: true }, (ev) => {
        const id = ev.connectionId;
        if (id === undefined) return;
        const set = waits.get(id);
        if (!set) return;
        for (const wait of [...set]) {
          if (satisfiedBy(wait.until, ev)) finish(wait, 0, ev.call);
          // A call that is over can no longer give what was awaited: say so now, not at the timeout.
          else if (ev.call?.state === 'ended' && endSettles(wait.until, ev.topic)) finish(wait, 1, ev.call);
        }
      });
    } catch {
      // linkToServer already shows why there is no client; each message will say it again.
    }

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      evaluateFields(RED, node, def, WAIT_FIELDS, msg)
        .then((v) => {
          // The fields resolved after the node closed (a JSONata expression, a context store
          // that answers late): the message ends as the waits did on close, holding nothing.
          if (closed) return done();
          const client = link.client();
          if (isBlank(v.call)) throw new EraError('ERA_INVALID_INPUT', 'No call to wait on: msg.connectionId (or the call field) is empty');
          const call = validateCallId(v.call);
          const until = typeof v.until === 'string' ? v.until.trim() : '';
          if (!until || (!STATES.has(until) && !isTopicPattern(until))) {
            throw new EraError(
              'ERA_INVALID_INPUT',
              `Cannot wait until ${shownValue(v.until)}: give an event type such as callevents.dlg_start or a state: ringing, talking, held, ended`,
            );
          }
          const seconds = toNumber(v.timeout);
          if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
            throw new EraError('ERA_INVALID_INPUT', `Timeout ${shownValue(v.timeout)} must be a number of seconds between 0 and 86400`);
          }
          const known = client.calls.get(call);
          const wait: Wait = { call, until, msg, send, done, at: Date.now() + seconds * 1000, slot: -1 };
          if (alreadyHappened(until, known)) return release(wait, 0, known);
          // Waiting for the timeout on a call that is over would only delay the answer.
          if (known?.state === 'ended' && endSettles(until)) return release(wait, 1, known);
          if (queue.size >= maxWaits) {
            throw new EraError(
              'ERA_INVALID_INPUT',
              `era-wait already holds ${maxWaits} waits (maxWaits), so this message is not held: raise maxWaits or shorten the timeout`,
            );
          }
          let set = waits.get(call);
          if (!set) waits.set(call, (set = new Set()));
          set.add(wait);
          queue.add(wait);
        })
        .catch((err: unknown) => {
          if (closed) return done();
          const error = asEraError(err);
          link.view.show(failureStatus(RED, error.code, error.statusCode));
          done(error);
        });
    });

    node.on('close', (_removed, done) => {
      closed = true;
      // Pending waits end with the node: their messages are dropped, their done() called.
      queue.clear();
      for (const set of waits.values()) for (const wait of set) wait.done();
      waits.clear();
      handle?.close();
      link.close();
      done();
    });
  }
  RED.nodes.registerType('era-wait', EraWait);
};
