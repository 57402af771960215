import { asEraError } from './lib/action';
import { dropHandOversOnStop, HandOver } from './lib/hand-over';
import type { DoneFn, NodeDef, NodeMessage, RedApi, RedNode, SendFn } from './lib/red';
import { linkToServer } from './lib/server-link';
import { shownValue, type CallStatsHandle, type EraError, type StatsWindow } from '../era';
import type { StoredServer } from './lib/dialog-options';

const TOPIC = 'era-stats';

interface Range {
  name: string;
  unit: string;
  min: number;
  max: number;
  fallback: number;
  /** Why the maximum is the maximum, for the warning. */
  maxReason: string;
}

const INTERVAL: Range = { name: 'interval', unit: 's', min: 1, max: 3600, fallback: 5, maxReason: 'at most an hour' };
const WINDOW: Range = { name: 'window', unit: 'min', min: 1, max: 1440, fallback: 60, maxReason: 'at most a day' };
const SERVICE_LEVEL: Range = { name: 'serviceLevel', unit: 's', min: 0, max: 86_400, fallback: 20, maxReason: 'at most a day' };

/**
 * A setting as a number within its range. Left out or blank: the default, quietly. Anything else
 * that is no number in the range (0, -5, "ten", 10^9) is brought into it, and `problems` says how:
 * a bad interval must never become a timer firing every millisecond or overflowing.
 */
function inRange(value: unknown, range: Range, problems: string[]): number {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return range.fallback;
  const n = typeof value === 'number' || typeof value === 'string' ? Number(value) : Number.NaN;
  const shown = shownValue(value);
  if (Number.isNaN(n)) {
    problems.push(`${range.name} ${shown} is not a number: using ${range.fallback} ${range.unit}`);
    return range.fallback;
  }
  if (n < range.min) {
    problems.push(`${range.name} ${shown} is below ${range.min} ${range.unit}: using ${range.min} ${range.unit}`);
    return range.min;
  }
  if (n > range.max) {
    problems.push(`${range.name} ${shown} is over ${range.max} ${range.unit} (${range.maxReason}): using ${range.max} ${range.unit}`);
    return range.max;
  }
  return n;
}

/** The window an era-stats node counted, for the node of the same id after a redeploy. */
const windows = new HandOver<{ platform: string; window: StatsWindow }>();

/** The server a node uses, and the platform it points at: a window counted on another platform is not carried on. */
function platformOf(RED: RedApi, server: unknown): string {
  const node = typeof server === 'string' ? (RED.nodes.getNode(server) as StoredServer | null) : null;
  return `${String(server)}|${JSON.stringify(node?.storedFor ?? null)}`;
}

export = function register(RED: RedApi): void {
  dropHandOversOnStop(RED);

  function EraStats(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const problems: string[] = [];
    const intervalMs = inRange(def.interval, INTERVAL, problems) * 1000;
    const windowMs = inRange(def.window, WINDOW, problems) * 60_000;
    const serviceLevelMs = inRange(def.serviceLevel, SERVICE_LEVEL, problems) * 1000;
    if (problems.length > 0) node.warn(`era-stats: ${problems.join('; ')}`);

    const link = linkToServer(RED, node, def);
    const left = windows.take(node.id);
    let stats: CallStatsHandle | undefined;
    // Why there are no figures (no usable server): the status shows it, each input message's error says it.
    let unavailable: EraError | undefined;
    // Read now, at start: when this node closes in a deploy, the server may already be the new one.
    const platform = platformOf(RED, def.server);
    try {
      stats = link.client().callStats({ windowMs, serviceLevelMs, key: node.id, resume: left !== undefined && left.platform === platform ? left.window : undefined });
    } catch (err) {
      unavailable = asEraError(err);
    }

    const timer = setInterval(() => {
      if (stats === undefined) return;
      try {
        node.send({ topic: TOPIC, payload: stats.snapshot() });
      } catch (err) {
        // Nothing a timer throws may reach Node-RED's process.
        node.warn(`era-stats: ${asEraError(err).message}`);
      }
    }, intervalMs);

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      if (stats === undefined) return done(unavailable);
      msg.topic = TOPIC;
      msg.payload = stats.snapshot();
      send(msg);
      done();
    });

    node.on('close', (removed: boolean, done: () => void) => {
      clearInterval(timer);
      if (stats !== undefined) {
        if (!removed) windows.leave(node.id, { platform, window: stats.window });
        stats.close();
      }
      link.close();
      done();
    });
  }
  RED.nodes.registerType('era-stats', EraStats);
};
