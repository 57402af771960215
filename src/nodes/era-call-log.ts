import { shownValue, type LoggedCall } from '../era';
import type { NodeDef, NodeMessage, RedApi, RedNode } from './lib/red';
import { linkToServer } from './lib/server-link';
import { linkStatus } from './lib/status';

const DIRECTIONS = new Set(['all', 'in', 'out']);
const DEFAULT_WAIT_RECORDING_S = 10;

/** The message of one finished call (nodes.md, "Call log node"). */
function recordMessage(logged: LoggedCall): NodeMessage {
  const { record } = logged;
  const msg: NodeMessage = { topic: record.outcome, payload: record, call: logged.call, connectionId: record.connectionId };
  if (record.callId !== undefined) msg.callId = record.callId;
  if (logged.replayed) msg.replayed = true;
  return msg;
}

/** `waitRecording` in seconds as the flow stores it; absent or blank is the default. */
function waitRecordingMs(raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_WAIT_RECORDING_S * 1000;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export = function register(RED: RedApi): void {
  function EraCallLog(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = linkToServer(RED, node, def);
    let close = () => link.close();
    const direction = def.direction === undefined || def.direction === '' ? 'all' : String(def.direction);
    const wait = waitRecordingMs(def.waitRecording);
    const why = !DIRECTIONS.has(direction)
      ? `unknown direction ${shownValue(direction)} (use all, in or out)`
      : wait === undefined ? 'waitRecording must be a number of seconds, 0 or more' : undefined;
    if (why !== undefined) {
      node.error(`era-call-log: ${why}`);
      link.view.show(linkStatus(RED, 'invalid_config', why));
    } else {
      try {
        const handle = link.client().callLog(
          { direction: direction as 'all' | 'in' | 'out', waitRecordingMs: wait, key: node.id },
          (logged) => node.send(recordMessage(logged)),
        );
        close = () => {
          handle.close();
          link.close();
        };
      } catch (err) {
        // The link already shows why there is no client; say it once in the log too.
        node.error(err instanceof Error ? err.message : String(err));
      }
    }
    node.on('close', (_removed, done) => {
      close();
      done();
    });
  }
  RED.nodes.registerType('era-call-log', EraCallLog);
};
