/**
 * Node-RED's HTTP server as red.js builds it, around the test helper's runtime. The helper's
 * startServer() serves an empty express app, and the nodes it loads get an HTTP-nodes app and
 * an admin app that nothing serves; this puts them on one root the way red.js does: the admin
 * app (the helper's, with the editor API's JSON and urlencoded parsers) at httpAdminRoot, then
 * httpNodeAuth, then the HTTP-nodes app at httpNodeRoot. With both roots at "/" (a default
 * install), every request passes the admin app's JSON parser before it reaches a node's route.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { helper } from '../support/red';

type Next = (err?: unknown) => void;
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: Next) => void;
interface App {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  use(path: string, handler: unknown): void;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const express = require('express') as (() => App) & { json(o?: object): Handler; text(o?: object): Handler; raw(o?: object): Handler };
const basicAuth = require('basic-auth') as (req: http.IncomingMessage) => { name: string; pass: string } | undefined;
const bcrypt = require('bcryptjs') as { hashSync(password: string, rounds: number): string; compareSync(password: string, hash: string): boolean };
/* eslint-enable @typescript-eslint/no-require-imports */

export { express };

/** Settings as in settings.js; roots as red.js leaves them ("/api" becomes "/api/"). */
export interface StackSettings {
  httpAdminRoot?: string;
  httpNodeRoot?: string | false;
  /** A user and a plain password (settings.js holds its bcrypt hash: made here). */
  httpNodeAuth?: { user: string; pass: string };
  httpNodeMiddleware?: Handler | Handler[];
}

/** What configure() sets on the runtime's settings (and unmount() takes away again). */
const SETTINGS = ['httpAdminRoot', 'httpNodeRoot', 'httpNodeAuth', 'httpNodeMiddleware'];

function formatRoot(root: string): string {
  return `${root.startsWith('/') ? '' : '/'}${root}${root.endsWith('/') ? '' : '/'}`;
}

/** red.js's basicAuthMiddleware. */
function basicAuthMiddleware(user: string, hash: string): Handler {
  return (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    const given = basicAuth(req);
    if (!given || given.name !== user || !bcrypt.compareSync(given.pass, hash)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Authorization Required"');
      res.statusCode = 401;
      res.end('Unauthorized');
      return;
    }
    next();
  };
}

/** Log entries of `level` (20 error, 30 warn) from node `id`. */
export function logged(id: string, level: number): string[] {
  return helper
    .log()
    .args.map((a) => a[0] as { level?: number; id?: string; msg?: unknown })
    .filter((e) => e?.level === level && e.id === id)
    .map((e) => String(e.msg));
}

/** The admin app as a test adds a route to it. */
export interface AdminApp {
  post(path: string, handler: (req: { body: unknown }, res: { json(body: unknown): void }) => void): void;
}

export class RedStack {
  private root: App | undefined;
  /** The runtime's admin app, once mounted. */
  admin: AdminApp | undefined;
  private settings: { httpAdminRoot: string; httpNodeRoot: string | false; httpNodeAuth?: { user: string; pass: string } } = { httpAdminRoot: '/', httpNodeRoot: '/' };

  private constructor(
    private readonly server: http.Server,
    /** `http://127.0.0.1:<port>`: the server's root. */
    readonly origin: string,
  ) {}

  static async start(): Promise<RedStack> {
    let stack: RedStack | undefined;
    const server = http.createServer((req, res) => (stack?.root ? stack.root(req, res) : res.writeHead(503).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stack = new RedStack(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return stack;
  }

  /** Gives the runtime these settings (the nodes read them from RED.settings, the helper's settings object); call before helper.load(). */
  configure(settings: StackSettings = {}): void {
    const nodeRoot = settings.httpNodeRoot === false ? false : formatRoot(settings.httpNodeRoot ?? '/');
    const auth = settings.httpNodeAuth && { user: settings.httpNodeAuth.user, pass: bcrypt.hashSync(settings.httpNodeAuth.pass, 4) };
    this.settings = { httpAdminRoot: formatRoot(settings.httpAdminRoot ?? '/'), httpNodeRoot: nodeRoot, httpNodeAuth: auth };
    Object.assign(helper.settings(), { httpAdminRoot: this.settings.httpAdminRoot, httpNodeRoot: nodeRoot, httpNodeAuth: auth, httpNodeMiddleware: settings.httpNodeMiddleware });
  }

  /** The HTTP nodes' root URL (`origin` + httpNodeRoot, without the trailing slash). */
  get base(): string {
    return `${this.origin}${this.settings.httpNodeRoot === false ? '' : this.settings.httpNodeRoot.replace(/\/$/, '')}`;
  }

  /**
   * A node module for helper.load(), listed first: mounts the runtime's apps before any node is
   * created (as red.js does before it starts the flows), so a node finds its app's root.
   */
  readonly mount = (RED: { httpAdmin: Handler & AdminApp; httpNode: Handler }): void => {
    this.admin = RED.httpAdmin;
    const root = express();
    const { httpAdminRoot, httpNodeRoot, httpNodeAuth } = this.settings;
    root.use(httpAdminRoot, RED.httpAdmin);
    if (httpNodeRoot !== false && httpNodeAuth) root.use(httpNodeRoot, basicAuthMiddleware(httpNodeAuth.user, httpNodeAuth.pass));
    if (httpNodeRoot !== false) root.use(httpNodeRoot, RED.httpNode);
    this.root = root;
  };

  /** The runtime stopped: nothing answers until the next load mounts its apps. */
  unmount(): void {
    this.root = undefined;
    const live = helper.settings();
    for (const key of SETTINGS) delete live[key];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
