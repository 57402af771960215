/**
 * A POST route on Node-RED's HTTP-nodes app, held the way the core `http in` node holds its own,
 * and the other routes that answer the same path. Express answers a path with the first route
 * whose pattern matches it (case-insensitive, a trailing slash optional), so two nodes on one
 * path silently shadow one another; each node finds the other, whichever was deployed first.
 */
import type { ErrorMiddleware, ExpressApp, Middleware, RouterLayer } from './webhook-red';

/**
 * A route path the way a user types it: segments of letters, digits and `. _ ~ -` (no express
 * patterns). Each segment begins with its slash, so a match never backtracks.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/** Paths held by our nodes, per HTTP-nodes app (a runtime), lower-cased as express matches them. */
const held = new WeakMap<ExpressApp, Map<string, string>>();

/** `text` without the slashes it begins and ends with (a loop: a regular expression anchored at the end would be quadratic). */
function trimSlashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text[start] === '/') start++;
  while (end > start && text[end - 1] === '/') end--;
  return text.slice(start, end);
}

/** `/era/events` from `era/events/`, or undefined when the text is not a plain path. */
export function routePath(raw: unknown): string | undefined {
  const path = `/${trimSlashes(typeof raw === 'string' ? raw.trim() : '')}`;
  return PLAIN_PATH.test(path) ? path : undefined;
}

/** The app Node-RED's HTTP server runs, that `app` is mounted in (through its parents). */
export function rootOf(app: ExpressApp): ExpressApp {
  let root = app;
  while (root.parent !== undefined) root = root.parent;
  return root;
}

/** Where `app` is mounted from the root, lower-cased as express matches it, without a trailing slash ('' for the root). */
export function mountPath(app: ExpressApp): string {
  return (app.path?.() ?? '').replace(/\/{2,}/g, '/').replace(/\/$/, '').toLowerCase();
}

export function routerStack(app: ExpressApp): RouterLayer[] {
  if (app._router) return app._router.stack;
  try {
    return app.router?.stack ?? [];
  } catch {
    // express 4 throws on `app.router` (and has no `_router` before its first route).
    return [];
  }
}

/** Whether a layer is a route that answers POST `path`, by its pattern as express matches it. */
export function answersPost(layer: RouterLayer, path: string): boolean {
  const route = layer.route;
  if (route === undefined || (route.methods.post !== true && route.methods._all !== true)) return false;
  if (typeof layer.match !== 'function') return typeof route.path === 'string' && route.path.toLowerCase() === path.toLowerCase();
  try {
    return layer.match(path);
  } catch {
    return false;
  }
}

export interface PostRoute {
  /** The other routes that answer POST on the path (a core `http in` node's, say), as `POST <their path>`. */
  others(): string[];
  /** Puts the route back if something took it out (the core `http in` node removes every route of its path when it closes); true when it did. */
  restore(): boolean;
  /** Removes exactly this route, as the core `http in` node removes its own on close, so that a redeploy can add it again. */
  release(): void;
}

export type RouteClaim = { ok: true; route: PostRoute } | { ok: false; holder: string };

/**
 * Adds `POST path` with `handlers` to the HTTP nodes' app for `owner`, unless something already
 * answers it (another of our nodes, or any other route): then nothing is added and `holder`
 * says who.
 */
export function claimPostRoute(app: ExpressApp, path: string, owner: string, handlers: ReadonlyArray<Middleware | ErrorMiddleware>): RouteClaim {
  const key = path.toLowerCase();
  let ours = held.get(app);
  if (ours === undefined) held.set(app, (ours = new Map()));
  const holder = ours.get(key);
  if (holder !== undefined) return { ok: false, holder };
  const other = routerStack(app).find((layer) => answersPost(layer, path));
  if (other !== undefined) return { ok: false, holder: `another route (POST ${String(other.route?.path)}, an http in node?)` };

  const mark = handlers[0];
  const isMine = (layer: RouterLayer): boolean => layer.route?.stack.some((s) => s.handle === mark) === true;
  app.post(path, ...handlers);
  ours.set(key, owner);
  let released = false;
  return {
    ok: true,
    route: {
      others: () => routerStack(app).filter((layer) => !isMine(layer) && answersPost(layer, path)).map((layer) => `POST ${String(layer.route?.path)}`),
      restore: () => {
        if (released || routerStack(app).some(isMine)) return false;
        app.post(path, ...handlers);
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        if (ours.get(key) === owner) ours.delete(key);
        const stack = routerStack(app);
        const index = stack.findIndex(isMine);
        if (index !== -1) stack.splice(index, 1);
      },
    },
  };
}
