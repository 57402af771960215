/**
 * One Node-RED process as users run it: `node node_modules/node-red/red.js -u <dir> -p <port>`
 * on a user directory with the package installed and a settings.js. Its admin API is used as
 * the editor uses it (a bearer token when adminAuth is on); its HTTP nodes as a client of the
 * flows would (under httpNodeRoot, with httpNodeAuth's basic auth when set).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { NODE_RED_DIR } from './settings';
import { adopt } from './work';

/** How a client reaches the flows' HTTP endpoints: the settings' httpNodeRoot and httpNodeAuth. */
export interface NodeAccess {
  /** httpNodeRoot, '/' when the settings leave it out. */
  root?: string;
  /** httpNodeAuth's user and password (in clear: the settings hold its hash). */
  auth?: { user: string; pass: string };
}

const STOP_GRACE_MS = 10_000;
const START_LIMIT_MS = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class NodeRed {
  private child: ChildProcess | undefined;
  private printed = '';
  /** The bearer token admin requests carry (adminAuth on). */
  token: string | undefined;

  private constructor(
    readonly userDir: string,
    readonly port: number,
    readonly access: NodeAccess,
  ) {}

  /** Starts Node-RED on a free port of the loopback interface; resolves once it answers HTTP. */
  static async start(userDir: string, access: NodeAccess = {}): Promise<NodeRed> {
    const red = new NodeRed(userDir, await freePort(), access);
    await red.start();
    return red;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything Node-RED printed, over all its starts in this user directory. */
  get output(): string {
    return this.printed;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('Node-RED is running already');
    const child = spawn(process.execPath, [path.join(NODE_RED_DIR, 'red.js'), '-u', this.userDir, '-p', String(this.port)], {
      cwd: this.userDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    adopt(child);
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.printed += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.printed += d.toString()));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const limit = Date.now() + START_LIMIT_MS;
    while (Date.now() < limit) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        await (await fetch(`${this.url}/`, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
        return;
      } catch {
        await sleep(200);
      }
    }
    await this.stop();
    throw new Error(`Node-RED did not start:\n${this.printed.slice(-4000)}`);
  }

  /** Ctrl+C, as a user stops it; killed if it has not exited after 10 s. Resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** A request to the admin API (the editor's), with the bearer token when there is one. */
  admin(apiPath: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (this.token !== undefined && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${this.token}`);
    if (json !== undefined) headers.set('Content-Type', 'application/json');
    const body = json === undefined ? rest.body : JSON.stringify(json);
    return fetch(`${this.url}${apiPath}`, { ...rest, headers, body, signal: rest.signal ?? AbortSignal.timeout(30_000) });
  }

  /** A token for an adminAuth user, as the editor's login gets it (`POST /auth/token`). */
  async requestToken(username: string, password: string): Promise<string> {
    const res = await this.admin('/auth/token', { method: 'POST', json: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password } });
    if (res.status !== 200) throw new Error(`POST /auth/token: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /**
   * Waits until the runtime has loaded its flows, as the editor reads them (`GET /flows`) before
   * a user can deploy. Node-RED listens before that load ends, and the load's credentials would
   * replace those of a deploy made meanwhile.
   */
  async flowsLoaded(timeoutMs = 30_000): Promise<void> {
    const limit = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < limit) {
      const res = await this.admin('/flows', { headers: { 'Node-RED-API-Version': 'v2' } });
      const text = await res.text();
      last = `HTTP ${res.status} ${text}`;
      // Before the load ends the runtime has no flows: v2 answers null.
      if (res.status === 200 && (JSON.parse(text) as { rev?: string } | null)?.rev !== undefined) return;
      await sleep(100);
    }
    throw new Error(`GET /flows did not answer the loaded flows within ${timeoutMs} ms (last: ${last.slice(0, 200)})`);
  }

  /** A full deploy, as the editor's Deploy button sends it (credentials inside the nodes). */
  async deploy(flows: unknown[]): Promise<void> {
    const res = await this.admin('/flows', {
      method: 'POST',
      headers: { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
      json: { flows },
    });
    if (res.status !== 200) throw new Error(`POST /flows: HTTP ${res.status} ${await res.text()}`);
  }

  /** A request to the flows' HTTP endpoints: under httpNodeRoot, with httpNodeAuth's credentials. */
  node(nodePath: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> {
    const { auth: withAuth, ...rest } = init;
    const headers = new Headers(rest.headers);
    const auth = this.access.auth;
    if (auth && withAuth !== false) headers.set('Authorization', `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}`);
    const root = (this.access.root ?? '/').replace(/\/+$/, '');
    return fetch(`${this.url}${root}${nodePath}`, { ...rest, headers, signal: rest.signal ?? AbortSignal.timeout(30_000) });
  }
}
