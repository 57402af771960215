import { shownValue, type CallLogDirection, type LoggedCall } from '../era';
import type { NodeDef, NodeMessage, RedApi, RedNode } from './lib/red';
import { holdForLife, linkToServer } from './lib/server-link';
import { linkStatus } from './lib/status';

const DIRECTIONS: readonly CallLogDirection[] = ['all', 'in', 'out'];
const DEFAULT_WAIT_RECORDING_S = 10;
/** A day, as the package's other seconds fields: a key comes within seconds of the end, or never. */
const MAX_WAIT_RECORDING_S = 86_400;
/**
 * Seconds as a person types them: digits, an optional fraction, spaces around. Number() alone
 * would take a pasted line break ("10\n"), hex, exponents and Infinity.
 */
const SECONDS_TEXT = /^ *\d+(?:\.\d+)? *$/;

interface CallLogConfig {
  direction: CallLogDirection;
  waitRecordingMs: number;
}

/** The node's properties as the flow stores them, or why they cannot be used. */
function callLogConfig(def: NodeDef): CallLogConfig | { error: string } {
  const direction = def.direction === undefined || def.direction === null || def.direction === '' ? 'all' : def.direction;
  if (!DIRECTIONS.includes(direction as CallLogDirection)) return { error: `direction must be all, in or out, not ${shownValue(direction)}` };
  const raw = def.waitRecording;
  const seconds = raw === undefined || raw === null || raw === ''
    ? DEFAULT_WAIT_RECORDING_S
    : typeof raw === 'number' ? raw : typeof raw === 'string' && SECONDS_TEXT.test(raw) ? Number(raw) : Number.NaN;
  if (!(seconds >= 0 && seconds <= MAX_WAIT_RECORDING_S)) {
    return { error: `waitRecording must be 0 to ${MAX_WAIT_RECORDING_S} seconds, not ${shownValue(raw)}` };
  }
  return { direction: direction as CallLogDirection, waitRecordingMs: Math.round(seconds * 1000) };
}

/** The message of one finished call (nodes.md, "Call log node"). */
function recordMessage(logged: LoggedCall): NodeMessage {
  const { record } = logged;
  const msg: NodeMessage = { topic: record.outcome, payload: record, call: logged.call, connectionId: record.connectionId };
  if (record.callId !== undefined) msg.callId = record.callId;
  if (logged.replayed) msg.replayed = true;
  return msg;
}

export = function register(RED: RedApi): void {
  function EraCallLog(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = callLogConfig(def);
    if ('error' in config) {
      // No tie to the server: its connection status would cover the red one.
      node.error(`era-call-log: ${config.error}`);
      node.status(linkStatus(RED, 'invalid_config', config.error));
      return;
    }
    holdForLife(node, linkToServer(RED, node, def), (client) => client.callLog({ ...config, key: node.id }, (logged) => node.send(recordMessage(logged))));
  }
  RED.nodes.registerType('era-call-log', EraCallLog);
};
