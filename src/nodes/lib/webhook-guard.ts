/**
 * What an era-webhook puts in front of everything else on Node-RED's HTTP server, once per
 * runtime while at least one webhook is deployed: a middleware at the top of the root express
 * app (where the core `http in` node puts its `rawBodyCapture`) that acts only on POSTs to a
 * webhook's path.
 *
 * - It watches the body: a delivery whose body stops coming is answered 408 and its socket
 *   closed within a second, whoever is reading it — the endpoint, or a body parser of the
 *   user's `httpNodeMiddleware`, which has no timeout of its own.
 * - It keeps the editor's body parsers away from it. On a default install the editor's admin
 *   app and the HTTP nodes share one root, and the admin app's JSON parser (no timeout, 5 MB,
 *   UTF-8 only, HTML error pages) reads every JSON request first. Marked as read (`_body`, the
 *   flag every body-parser honours), the delivery passes the admin app unread; the webhook's
 *   route takes the mark off again before `httpNodeMiddleware`, so the user's own parsers, and
 *   then the endpoint, read it as if nothing had been in front. Nothing here reads the body.
 *   No webhook has a path the admin app answers (webhook-admin.ts refuses one), so the mark
 *   never keeps the editor from a request of its own.
 */
import type { ServerResponse } from 'node:http';
import { mountPath, rootOf, routerStack } from './http-route';
import type { ExpressApp, HttpRequest, Middleware, Next } from './webhook-red';

/**
 * A body with no new byte for this long is given up. The issue bounds the answer to a body that
 * stops at one second after its last byte; bytes are looked for every CHECK_EVERY_MS, so the
 * last one is seen up to that much late, and 800 + 100 ms leaves 100 ms for a late timer and
 * the answer itself. As long as that bound allows: a single pause between bytes (a proxy, a
 * slow link) is not the end of a body.
 */
const BODY_IDLE_MS = 800;
const CHECK_EVERY_MS = 100;

const MARKED = Symbol('era-webhook: marked read so that the admin app leaves it');
const WATCHED = Symbol('era-webhook: body watched');

type GuardedRequest = HttpRequest & { [MARKED]?: true; [WATCHED]?: true };

/** Told when a delivery's body stopped coming and was answered 408. */
export type StallListener = () => void;

interface Guard {
  root: ExpressApp;
  /** Full paths (mount path + route path, lower-cased, no trailing slash) → who listens. */
  paths: Map<string, StallListener>;
  middleware: Middleware;
}

const guards = new WeakMap<ExpressApp, Guard>();

/** A target's scheme and authority (`http://host:port`), in the absolute form a client sends through a forward proxy. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path a request is routed on, as express takes it from the request target (parseurl):
 * without the query, and without the scheme and host of an absolute-form target
 * (`POST http://host/era/events`), which express routes like `/era/events`. Lower-cased, one
 * trailing slash dropped, as express matches routes.
 */
function requestPath(req: HttpRequest): string {
  const url = req.url ?? '';
  const authority = url.startsWith('/') ? undefined : ABSOLUTE_FORM.exec(url)?.[0];
  const rest = authority === undefined ? url : url.slice(authority.length);
  let end = rest.length;
  for (const mark of ['?', '#']) {
    const at = rest.indexOf(mark);
    if (at !== -1 && at < end) end = at;
  }
  const path = rest.slice(0, end) || '/';
  return (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
}

/**
 * Answers 408 and closes the socket once the body of `req` has had no new byte for
 * BODY_IDLE_MS. Bytes that arrived but wait for a reader (a slow middleware) are not a stall.
 */
function watchBody(req: HttpRequest, res: ServerResponse, stalled: StallListener): void {
  const r = req as GuardedRequest;
  if (r[WATCHED] || req.complete) return;
  r[WATCHED] = true;
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let lastByteAt = Date.now();
  const timer = setInterval(() => {
    if (req.complete || res.writableEnded || socket.destroyed) return stop();
    const now = Date.now();
    if (socket.bytesRead !== bytes || req.readableLength > 0) {
      bytes = socket.bytesRead;
      lastByteAt = now;
    } else if (now - lastByteAt >= BODY_IDLE_MS) {
      stop();
      giveUp(res, socket);
      stalled();
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    res.off('close', stop);
  };
  res.on('close', stop);
}

function giveUp(res: ServerResponse, socket: HttpRequest['socket']): void {
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ result: 'error', errormsg: `refused: the body stopped coming (no byte for ${BODY_IDLE_MS} ms)` });
  res.writeHead(408, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  // Whoever was reading the body sees the socket close and gives up too.
  res.end(body, () => socket.destroy());
}

function install(root: ExpressApp): Guard {
  const guard: Guard = {
    root,
    paths: new Map(),
    middleware: (req: GuardedRequest, res: ServerResponse, next: Next) => {
      const stalled = req.method === 'POST' ? guard.paths.get(requestPath(req)) : undefined;
      if (stalled !== undefined) {
        if (req._body !== true && !req.readableEnded) {
          req._body = true;
          req[MARKED] = true;
        }
        watchBody(req, res, stalled);
      }
      next();
    },
  };
  root.use(guard.middleware);
  // To the top: before the admin app and its parsers (other frameworks may have added theirs first).
  const stack = routerStack(root);
  const index = stack.findIndex((layer) => layer.handle === guard.middleware);
  if (index > 0) stack.unshift(...stack.splice(index, 1));
  guards.set(root, guard);
  return guard;
}

/**
 * Guards POSTs to `path` of the HTTP-nodes app from the root of Node-RED's HTTP server. Returns
 * the release: the last one removes the middleware.
 */
export function guardPath(httpNode: ExpressApp, path: string, stalled: StallListener): () => void {
  const root = rootOf(httpNode);
  const guard = guards.get(root) ?? install(root);
  const key = `${mountPath(httpNode)}${path.toLowerCase()}`;
  guard.paths.set(key, stalled);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (guard.paths.get(key) === stalled) guard.paths.delete(key);
    if (guard.paths.size > 0) return;
    guards.delete(root);
    const stack = routerStack(root);
    const index = stack.findIndex((layer) => layer.handle === guard.middleware);
    if (index !== -1) stack.splice(index, 1);
  };
}

/**
 * The first handler of the webhook's route: takes off the guard's mark (the body is still
 * unread) so the parsers after it read the body, and watches the body when the guard could not
 * (an HTTP-nodes app not mounted under a root Node-RED serves).
 */
export function unmark(stalled: StallListener): Middleware {
  return (req: GuardedRequest, res, next) => {
    if (req[MARKED]) {
      delete req[MARKED];
      if (!req.readableEnded) delete req._body;
    }
    watchBody(req, res, stalled);
    next();
  };
}
