import { callListItems, type CallSnapshot, copyJson, diffCalls, EraError, MAX_TIMER_MS, PollChangeKeys, validateCallId } from '../era';
import { CALL, isBlank } from './lib/inputs';
import { actionNode, asEraError } from './lib/action';
import type { NodeDef, RedApi, RedNode } from './lib/red';
import { linkToServer } from './lib/server-link';
import { failureStatus, successStatus } from './lib/status';

export = function register(RED: RedApi): void {
  const getCalls = actionNode(RED, {
    fields: { call: CALL },
    perform(client, v) {
      return isBlank(v.call) ? client.command({ op: 'list' }) : client.command({ op: 'get', call: validateCallId(v.call) });
    },
  });

  function EraCalls(this: RedNode, def: NodeDef) {
    if (def.mode !== 'poll') return getCalls.call(this, def);
    RED.nodes.createNode(this, def);
    startPolling(RED, this, def);
  }
  RED.nodes.registerType('era-calls', EraCalls);
};

/**
 * Milliseconds between polls: `interval` seconds (at least 0.1; 5 when not a number), at most
 * what a timer can wait, with a warning when a longer one is shortened.
 */
function pollInterval(node: RedNode, def: NodeDef): number {
  const seconds = Number(def.interval);
  const ms = Number.isFinite(seconds) && seconds >= 0.1 ? seconds * 1000 : 5000;
  if (ms <= MAX_TIMER_MS) return ms;
  node.warn(`era-calls: an interval of ${seconds} s is longer than 24.8 days, the longest a timer can wait: polling every 24.8 days instead`);
  return MAX_TIMER_MS;
}

/**
 * Poll mode, for installations reached by REST alone: read the call list every interval and
 * emit a callevents-like message for each call that appeared, changed or vanished.
 */
function startPolling(RED: RedApi, node: RedNode, def: NodeDef): void {
  const link = linkToServer(RED, node, def);
  const intervalMs = pollInterval(node, def);
  let previous: CallSnapshot | undefined;
  const claimKeys = new PollChangeKeys();
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  let closed = false;
  let lastWarning = '';

  const poll = async () => {
    if (busy || closed) return;
    busy = true;
    try {
      const client = link.client();
      const result = await client.command({ op: 'list' });
      if (closed) return;
      const calls = callListItems(result.body);
      if (!calls) throw new EraError('ERA_HTTP', 'The call list answer is not a list of calls');
      const { snapshot, changes } = diffCalls(previous, calls);
      previous = snapshot;
      // In a cluster of replicas, the one that claims a change emits it. The payload is a copy:
      // the snapshot keeps the original for the next comparison, whatever a flow does to its own.
      for (const change of changes) {
        client.onceInCluster(claimKeys.keysOf(change), () => {
          if (!closed) node.send({ ...change, payload: copyJson(change.payload) });
        });
      }
      link.view.show(successStatus(RED, result.statusCode));
      lastWarning = '';
    } catch (err) {
      const error = asEraError(err);
      link.view.show(failureStatus(RED, error.code, error.statusCode));
      // A platform that stays down would otherwise repeat the same warning every interval.
      if (error.message !== lastWarning) node.warn(error.message);
      lastWarning = error.message;
    } finally {
      busy = false;
    }
  };

  timer = setInterval(() => void poll(), intervalMs);
  void poll();
  node.on('input', (_msg, _send, done) => {
    void poll().then(() => done());
  });
  node.on('close', (_removed, done) => {
    closed = true;
    if (timer) clearInterval(timer);
    timer = undefined;
    link.close();
    done();
  });
}
