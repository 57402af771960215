/**
 * A replica: a real Node-RED process (node-red/red.js) with this package installed in its user
 * directory (a link to the checkout, so it loads dist/nodes/*.js), running a flow whose
 * era-events output and statuses are written to the console by core nodes. The test reads
 * them from the process's stdout: on Linux a pipe is written synchronously, so a line logged
 * before a SIGKILL is not lost with the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/redis';

const ROOT = path.resolve(__dirname, '..', '..');
const RED_JS = require.resolve('node-red/red.js');

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** One message out of a replica's era-events node. */
export interface Report {
  /** The Node-RED process that emitted it. */
  pid: number;
  /** Its place in that process's output. */
  seq: number;
  eventId: string;
  topic: string;
  connectionId: string | undefined;
  replayed: boolean;
  /** Date.now() in the flow, right after era-events sent it. */
  at: number;
  /** msg.call.state, when the message carried the call's state. */
  callState: string | null;
}

export interface StatusReport {
  pid: number;
  fill: string | undefined;
  text: string | undefined;
}

const REPORT = 'CLAIMREPORT ';
const STATUS = 'CLAIMSTATUS ';

export interface ReplicaFlowOptions {
  /** The platform's (or a proxy's) URL. */
  eraUrl: string;
  cluster?: string;
  redisUrl?: string;
  clusterName?: string;
}

/**
 * era-server (token mode, domain demo.local: the cluster's default name) → era-events
 * (callevents.*, msg.call attached) → function → debug to the console; a status node on
 * era-events → function → the same debug node.
 */
export function replicaFlow(o: ReplicaFlowOptions): FlowNode[] {
  const report = [
    "const seq = (context.get('seq') || 0) + 1;",
    "context.set('seq', seq);",
    `msg.payload = '${REPORT}' + JSON.stringify({ s: seq, e: msg.eventId, t: msg.topic, c: msg.connectionId, p: msg.replayed === true, at: Date.now(), call: msg.call ? msg.call.state : null });`,
    'return msg;',
  ].join('\n');
  const status = `msg.payload = '${STATUS}' + JSON.stringify({ fill: msg.status.fill, text: msg.status.text });\nreturn msg;`;
  // Node-RED takes a node without x and y for a config node.
  const at = { z: 'tab', x: 100, y: 100 };
  const fn = (id: string, func: string, wires: string[]) => ({ id, type: 'function', ...at, func, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [wires] });
  return [
    { id: 'tab', type: 'tab', label: 'replica' },
    {
      id: 'srv',
      type: 'era-server',
      name: 'era',
      url: o.eraUrl,
      domain: 'demo.local',
      authMode: 'token',
      verifyTls: true,
      ca: '',
      pingInterval: 1,
      requestTimeout: 2,
      cluster: o.cluster ?? 'redis',
      redisUrl: o.redisUrl ?? '',
      clusterName: o.clusterName ?? '',
      credentials: { token: 'demo-token' },
    },
    { id: 'ev', type: 'era-events', ...at, name: 'events', server: 'srv', events: 'callevents.*', objects: '', attachCall: true, split: false, wires: [['report']] },
    fn('report', report, ['out']),
    { id: 'st', type: 'status', ...at, scope: ['ev'], wires: [['status']] },
    fn('status', status, ['out']),
    { id: 'out', type: 'debug', ...at, name: 'report', active: true, tosidebar: false, console: 'true', tostatus: false, complete: 'payload', targetType: 'msg', wires: [] },
  ];
}

export class Replica {
  readonly reports: Report[] = [];
  readonly statuses: StatusReport[] = [];
  /** Every line the replica's processes wrote, in order. */
  readonly lines: string[] = [];
  /** The pids of every process this replica ran, the current one last. */
  readonly pids: number[] = [];
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly userDir: string;
  private port = 0;

  constructor(readonly name: string) {
    this.userDir = fs.mkdtempSync(path.join(os.tmpdir(), `era-replica-${name}-`));
    const scope = path.join(this.userDir, 'node_modules', '@era-cti');
    fs.mkdirSync(scope, { recursive: true });
    fs.symlinkSync(ROOT, path.join(scope, 'node-red-era'), 'dir');
  }

  get pid(): number {
    return this.pids[this.pids.length - 1]!;
  }

  /** Starts Node-RED with `flow` as its flow file; resolves once its flows run. */
  async start(flow: FlowNode[]): Promise<void> {
    this.port = await freePort();
    const credentials: Record<string, unknown> = {};
    const nodes = flow.map(({ credentials: secret, ...node }) => {
      if (secret !== undefined) credentials[node.id] = secret;
      return node;
    });
    fs.writeFileSync(path.join(this.userDir, 'flows.json'), JSON.stringify(nodes));
    fs.writeFileSync(path.join(this.userDir, 'flows_cred.json'), JSON.stringify(credentials));
    fs.writeFileSync(
      path.join(this.userDir, 'settings.js'),
      `module.exports = ${JSON.stringify({
        uiPort: this.port,
        uiHost: '127.0.0.1',
        flowFile: 'flows.json',
        credentialSecret: false,
        logging: { console: { level: 'info', metrics: false, audit: false } },
        editorTheme: { projects: { enabled: false }, tours: false },
        telemetry: { enabled: false },
        diagnostics: { enabled: false },
      })};\n`,
    );
    const proc = spawn(process.execPath, [RED_JS, '--userDir', this.userDir, '--settings', path.join(this.userDir, 'settings.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.proc = proc;
    const pid = proc.pid!;
    this.pids.push(pid);
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    this.read(proc.stdout!, pid);
    this.read(proc.stderr!, pid);
    const from = this.lines.length;
    await this.until(() => this.lines.slice(from).some((l) => l.includes('Started flows')), 20_000, 'Node-RED to start its flows');
  }

  /** Replaces the running flows through the admin API (a full deploy, as the editor does). */
  async deploy(flow: FlowNode[]): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.port}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' },
      body: JSON.stringify(flow),
    });
    if (!res.ok) throw new Error(`${this.name}: deploy answered ${res.status} ${await res.text()}`);
  }

  /** SIGKILL: the process ends wherever it is. */
  async kill(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (Node-RED closes its flows), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const cut = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.kill('SIGTERM');
      await this.exited;
      clearTimeout(cut);
    }
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }

  /** The last status era-events showed, if any. */
  get status(): StatusReport | undefined {
    return this.statuses[this.statuses.length - 1];
  }

  /** Resolves once the current process's era-events shows a status whose text includes `text`. */
  async showing(text: string, ms = 15_000): Promise<void> {
    await this.until(() => this.status?.pid === this.pid && (this.status.text ?? '').includes(text), ms, `status "${text}" (last: ${JSON.stringify(this.status)})`);
  }

  /** Resolves once the current process's era-events showed a status including `text` since status number `from`. */
  async saw(text: string, from: number, ms = 15_000): Promise<void> {
    await this.until(() => this.statuses.slice(from).some((s) => s.pid === this.pid && (s.text ?? '').includes(text)), ms, `status "${text}"`);
  }

  /** How many lines of the replica's log match. */
  logged(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }

  async until(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out after ${ms} ms waiting for ${what}; last lines:\n${this.lines.slice(-15).join('\n')}`);
      if (!this.running) throw new Error(`${this.name}: Node-RED exited while waiting for ${what}; last lines:\n${this.lines.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private read(stream: NodeJS.ReadableStream, pid: number): void {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const line of lines) this.line(line, pid);
    });
  }

  private line(line: string, pid: number): void {
    this.lines.push(line);
    const report = line.indexOf(REPORT);
    if (report >= 0) {
      const r = JSON.parse(line.slice(report + REPORT.length)) as { s: number; e: string; t: string; c?: string; p: boolean; at: number; call: string | null };
      this.reports.push({ pid, seq: r.s, eventId: r.e, topic: r.t, connectionId: r.c, replayed: r.p, at: r.at, callState: r.call });
      return;
    }
    const status = line.indexOf(STATUS);
    if (status >= 0) {
      const s = JSON.parse(line.slice(status + STATUS.length)) as { fill?: string; text?: string };
      this.statuses.push({ pid, fill: s.fill, text: s.text });
    }
  }
}
