/**
 * What each stage of the event path costs, without sockets or Node-RED: the frames of a simulator
 * burst, captured once as a client subscribed like era-events receives them, are replayed in a
 * fresh process per variant, each adding one stage to the one before:
 *
 *   parse        JSON.parse of each frame
 *   floor        …and the message the minimal node sends (bench-ws-min.js, without Node-RED)
 *   decode       the client's decoder instead (protocol/frames.ts: the event object)
 *   no-table     …then dedup and delivery to a listener that makes era-events' message; the call
 *                table keeps no call (cap 0, no grace)
 *   plain        the same with the call table as the client has it (10,000 calls, ended ones kept 60 s)
 *   attach       attachCall: the table's ccsevents too, and a copy of the call on every message
 *
 * CPU µs per call event (user + system of the process, so the collector's threads count): each
 * process gives the median of its rounds after the first, and three processes per variant run in
 * turn. The differences are what `npm run bench`'s ratios are made of;
 * what this leaves out (ws, acknowledgements, Node-RED's send) is the same or more there.
 *
 *   npm run build && node --require tsx/cjs bench/stages.ts [calls per round, default 20000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { FrameSink } from '../src/era/protocol/frames';
import type { EraEvent } from '../src/era/types';

const VARIANTS = ['parse', 'floor', 'decode', 'no-table', 'plain', 'attach'] as const;
type Variant = (typeof VARIANTS)[number];
const ROUNDS = 6;
const PASSES = 3;
const SUBSCRIPTION_ID = 'calls';

interface Captured {
  /** Call events only (what era-events with attachCall off subscribes to). */
  callEvents: string[];
  /** Call events and the table's ccsevents, in the order they came. */
  withTable: string[];
}

/** The built package, as Node-RED would load it. */
const dist = (module: string): unknown => require(path.join(__dirname, '..', 'dist', 'era', module));

async function capture(calls: number): Promise<Captured> {
  const { Simulator } = require(path.join(__dirname, '..', 'dist', 'simulator')) as typeof import('../src/simulator');
  const { CALL_TABLE_EVENTS } = dist('protocol/call-events') as typeof import('../src/era/protocol/call-events');
  const sim = await new Simulator({ port: 0 }).start();
  const ws = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/ws/token/v1/demo-token`, { perMessageDeflate: false });
  const withTable: string[] = [];
  try {
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('["event"')) withTable.push(text);
    });
    ws.send(JSON.stringify(['setup', { qid: 0, capabilities: [{ key: 'subscr' }] }]));
    ws.send(JSON.stringify(['subscribe', { qid: 1, id: SUBSCRIPTION_ID, events: CALL_TABLE_EVENTS, expires: 3600 }]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sim.burst({ calls });
    // Every frame written is read before the count is taken.
    let last = -1;
    while (last !== withTable.length) {
      last = withTable.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    ws.terminate();
    await sim.stop();
  }
  return { callEvents: withTable.filter((f) => f.includes('"class":"callevents"')), withTable };
}

/** One variant over the captured frames; prints its CPU µs per call event, one figure per round. */
function runVariant(variant: Variant, file: string): void {
  const captured = JSON.parse(readFileSync(file, 'utf8')) as Captured;
  const attach = variant === 'attach';
  const frames = attach ? captured.withTable : captured.callEvents;
  // Node-RED queues every send and lets go of a batch a turn later: messages live about that long.
  let queue: unknown[] = [];
  const push = (msg: unknown): void => {
    queue.push(msg);
    if (queue.length >= 100) queue = [];
  };
  const { decodeFrame } = dist('protocol/frames') as typeof import('../src/era/protocol/frames');
  const { EventPipeline } = dist('events/pipeline') as typeof import('../src/era/events/pipeline');
  const { CallTable } = dist('calls/table') as typeof import('../src/era/calls/table');
  const { compilePatterns } = dist('events/patterns') as typeof import('../src/era/events/patterns');
  const { eventMessage } = require(path.join(__dirname, '..', 'dist', 'nodes', 'lib', 'event-message')) as typeof import('../src/nodes/lib/event-message');

  // One subscription group with one era-events listener, as the client builds them (subscriptions.ts),
  // under the id the captured frames name, as the platform names the client's own.
  const group = { id: SUBSCRIPTION_ID, listeners: [] as unknown[], departed: [], patterns: compilePatterns(['callevents.*']), objectSet: undefined };
  group.listeners.push({
    patterns: compilePatterns(['callevents.*']), attachCall: attach, exclusive: false, passive: false,
    callback: (ev: EraEvent) => push(eventMessage(ev, attach)), group, key: undefined, backlog: undefined,
  });
  const subscriptions = { all: [group], byId: (id: string) => (id === group.id ? group : undefined) };
  const table = variant === 'no-table' ? new CallTable(0, 0) : new CallTable(10_000, 60_000);
  const pipeline = new EventPipeline(subscriptions as never, table, { decoded: 0, undecodable: 0, duplicates: 0 }, { warnOnce: () => undefined });
  const toPipeline: FrameSink = { event: (ev, id) => pipeline.event(ev, id), reply: () => undefined, undecodable: () => undefined };
  const nowhere: FrameSink = { event: () => undefined, reply: () => undefined, undecodable: () => undefined };

  const step: (raw: string) => void = {
    parse: (raw: string) => void JSON.parse(raw),
    floor: (raw: string) => {
      const frame = JSON.parse(raw);
      if (frame[0] !== 'event') return;
      const ev = frame[1];
      const payload = ev.data;
      push({ topic: `${ev.class}.${ev.type}`, payload, connectionId: payload.connectionid, callId: payload.cid, eventId: payload.eventid });
    },
    decode: (raw: string) => decodeFrame(raw, nowhere),
    'no-table': (raw: string) => decodeFrame(raw, toPipeline),
    plain: (raw: string) => decodeFrame(raw, toPipeline),
    attach: (raw: string) => decodeFrame(raw, toPipeline),
  }[variant];

  const perRound = Math.floor(frames.length / ROUNDS);
  const figures: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const slice = frames.slice(round * perRound, (round + 1) * perRound);
    const callEvents = slice.filter((f) => f.includes('"class":"callevents"')).length;
    const t0 = process.cpuUsage();
    for (const raw of slice) step(raw);
    const spent = process.cpuUsage(t0);
    figures.push((spent.user + spent.system) / callEvents);
  }
  process.stdout.write(JSON.stringify(figures));
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 20_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'era-stages-'));
  try {
    const captured = await capture(calls);
    const file = path.join(dir, 'frames.json');
    writeFileSync(file, JSON.stringify(captured));
    console.log(`${calls} calls: ${captured.callEvents.length} call events, ${captured.withTable.length} frames with the table's ccsevents. ${PASSES} processes per variant, in turn; each gives the median of its last ${ROUNDS - 1} of ${ROUNDS} rounds; the median of those is shown\n`);
    console.log('| variant | CPU µs per call event | + on the line before | each process |');
    console.log('| --- | --- | --- | --- |');
    // Every variant once per pass, passes in turn: other load on the machine falls on all alike.
    const medians = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    for (let pass = 0; pass < PASSES; pass++) {
      for (const variant of VARIANTS) {
        const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', __filename, 'run', variant, file], { encoding: 'utf8' });
        medians.get(variant)!.push(median((JSON.parse(out) as number[]).slice(1)));
      }
    }
    let before: number | undefined;
    for (const variant of VARIANTS) {
      const passes = medians.get(variant)!;
      const m = median(passes);
      const delta = before === undefined ? '' : `${m - before >= 0 ? '+' : ''}${(m - before).toFixed(2)}`;
      console.log(`| ${variant} | ${m.toFixed(2)} | ${delta} | ${passes.map((f) => f.toFixed(2)).join(', ')} |`);
      before = m;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'run') runVariant(process.argv[3] as Variant, process.argv[4]!);
else main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
