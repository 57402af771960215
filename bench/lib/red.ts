/**
 * Node-RED embedded in a bench process, as a user runs it: the real runtime with the core
 * nodes, this package installed in the user directory's node_modules (a link to the checkout,
 * so Node-RED loads dist/nodes/*.js; in a candidate's process, PACKAGE_ENV names the other
 * build to link), and bench/nodes/ for the sink. No editor; no HTTP port unless `httpNodes` asks
 * for the HTTP nodes' app to be served (on loopback, any port).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import RED from 'node-red';
import { PACKAGE_ENV } from '../config';

type Message = Record<string, unknown>;
export type FlowNode = Record<string, unknown> & { id: string; type: string };

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE = process.env[PACKAGE_ENV] || ROOT;

let userDir: string | undefined;

/** Start-up notices of an embedded runtime without projects or a stored credential key. */
const STARTUP_NOISE = /^(Projects disabled|Encrypted credentials not found)/;

/** Node-RED's warnings and errors, to stderr (stdout is the orchestrator's), without start-up noise. */
function logLine(entry: { level: number; msg: unknown; type?: string; name?: string; id?: string }): void {
  const text = String(entry.msg);
  if (STARTUP_NOISE.test(text)) return;
  const where = entry.type ? ` [${entry.type}:${entry.name || entry.id}]` : '';
  process.stderr.write(`node-red ${entry.level <= 20 ? 'error' : 'warn'}${where} ${text}\n`);
}

/** Starts Node-RED; with `httpNodes`, serves its HTTP nodes (http in, era-webhook) and resolves with their base URL. */
export async function startRed(options: { httpNodes?: boolean } = {}): Promise<string | undefined> {
  const out = path.join(ROOT, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  const dir = fs.mkdtempSync(path.join(out, 'red-'));
  userDir = dir;
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const scope = path.join(dir, 'node_modules', '@era-cti');
  fs.mkdirSync(scope, { recursive: true });
  fs.symlinkSync(PACKAGE, path.join(scope, 'node-red-era'), 'dir');
  const server = http.createServer((req, res) => RED.httpNode(req, res));
  RED.init(server, {
    userDir: dir,
    flowFile: 'flows.json',
    credentialSecret: 'bench',
    httpAdminRoot: false,
    httpNodeRoot: options.httpNodes ? '/' : false,
    nodesDir: [path.join(__dirname, '..', 'nodes')],
    logging: { console: { level: 'off' }, bench: { level: 'warn', metrics: false, audit: false, handler: () => logLine } },
  });
  // start() resolves before the (empty) flow file has been loaded and started; a deploy made
  // meanwhile would lose its credentials to that load.
  const loaded = new Promise<void>((resolve) => {
    const listener = (e: { id?: string }) => {
      if (e.id !== 'runtime-deploy') return;
      RED.events.off('runtime-event', listener);
      resolve();
    };
    RED.events.on('runtime-event', listener);
  });
  await RED.start();
  await loaded;
  if (!options.httpNodes) return undefined;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Replaces the running flows (a full deploy) and resolves once the new nodes are started. */
export async function deploy(flow: FlowNode[], credentials: Record<string, unknown> = {}): Promise<void> {
  if (userDir === undefined) throw new Error('startRed() first');
  // setFlows answers before the flows have started; 'runtime-deploy' says when they have.
  const started = new Set<string>();
  let wake = (): void => undefined;
  const listener = (e: { id?: string; payload?: { revision?: string } }) => {
    if (e.id !== 'runtime-deploy' || e.payload?.revision === undefined) return;
    started.add(e.payload.revision);
    wake();
  };
  RED.events.on('runtime-event', listener);
  try {
    const { rev } = await RED.runtime.flows.setFlows({ flows: { flows: flow, credentials } });
    while (!started.has(rev)) await new Promise<void>((resolve) => (wake = resolve));
  } finally {
    RED.events.off('runtime-event', listener);
  }
}

export function getNode(id: string): NonNullable<ReturnType<typeof RED.nodes.getNode>> {
  const node = RED.nodes.getNode(id);
  if (!node) throw new Error(`no node ${id} in the deployed flow`);
  return node;
}

/** Calls `handler` for each message reaching the `bench-sink` node `id`. */
export function onSink(id: string, handler: (msg: Message) => void): void {
  getNode(id).on('input', (msg, _send, done) => {
    handler(msg);
    done();
  });
}

export function heapUsed(): number {
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed;
}
