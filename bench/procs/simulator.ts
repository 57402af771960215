/**
 * The simulator as load generator, in a process of its own so that its CPU is never charged
 * to the client under test. Also counts the TCP connections it accepts (the `net.server.socket`
 * diagnostics channel), which the command path reports.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../../src/simulator';
import { config } from '../config';
import { serve } from '../lib/rpc';

const connections = { accepted: 0, open: 0, maxOpen: 0 };
subscribe('net.server.socket', (message) => {
  const socket = (message as { socket: Socket }).socket;
  connections.accepted++;
  connections.maxOpen = Math.max(connections.maxOpen, ++connections.open);
  socket.once('close', () => connections.open--);
});

/** Calls per event-loop turn when starting many, so their events get written as they go. */
const CHUNK = 500;

let sim: Simulator;
let stream: NodeJS.Timeout | undefined;

function shortCall(): void {
  const call = sim.startCall({ from: '+79991234567', to: '101', answer: true });
  sim.hangupCall(call.id);
}

serve({
  async start() {
    sim = await startSimulator({ port: 0, strict: config.strictSimulator });
    return { url: sim.url };
  },
  /** A burst, with this process's CPU over it: near the burst's wall time, the simulator was the bottleneck. */
  async burst(args: { calls: number; answer?: boolean }) {
    const cpu0 = process.cpuUsage();
    const result = await sim.burst(args);
    const cpu = process.cpuUsage(cpu0);
    return { ...result, cpuUs: cpu.user + cpu.system };
  },
  /** Starts `count` calls (answered when `answer`) and leaves them going; returns their ids. */
  async startCalls(args: { count: number; answer: boolean }) {
    const ids: string[] = [];
    while (ids.length < args.count) {
      const end = Math.min(args.count, ids.length + CHUNK);
      while (ids.length < end) ids.push(sim.startCall({ from: `+7999${String(ids.length).padStart(7, '0')}`, to: '101', answer: args.answer }).id);
      await nextTurn();
    }
    return ids;
  },
  async hangup(args: { ids: string[] }) {
    for (let i = 0; i < args.ids.length; i++) {
      sim.hangupCall(args.ids[i]!);
      if (i % CHUNK === CHUNK - 1) await nextTurn();
    }
  },
  subscriptions: () => sim.subscriptions(),
  connections: () => ({ ...connections }),
  resetConnections() {
    connections.accepted = 0;
    connections.maxOpen = connections.open;
  },
  /** A short call (13 events) every `intervalMs`, or none with 0. */
  stream(args: { intervalMs: number }) {
    clearInterval(stream);
    stream = args.intervalMs > 0 ? setInterval(shortCall, args.intervalMs) : undefined;
  },
  /** Drops every socket, closes the port for `downMs`; resolves when it accepts again. */
  async restart(args: { downMs: number }) {
    const downAt = Date.now();
    await sim.restart({ downMs: args.downMs });
    return { downAt, upAt: Date.now() };
  },
});
