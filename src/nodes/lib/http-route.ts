import type { NodeApp, NodeRouteHandler, RouterLayer } from './red';

/** A route path the way a user types it: segments of letters, digits and `. _ ~ -` (no express patterns). */
const PLAIN_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Paths held by our nodes, per HTTP-nodes app (a runtime), lower-cased as express matches them. */
const claims = new WeakMap<NodeApp, Map<string, string>>();

/** `/era/events` from `era/events/`, or undefined when the text is not a plain path. */
export function routePath(raw: unknown): string | undefined {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const path = `/${text.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return PLAIN_PATH.test(path) ? path : undefined;
}

function routerStack(app: NodeApp): RouterLayer[] {
  if (app._router) return app._router.stack;
  try {
    return app.router?.stack ?? [];
  } catch {
    // express 4 throws on `app.router` (and has no `_router` before its first route).
    return [];
  }
}

function isPostRoute(layer: RouterLayer, path: string): boolean {
  const route = layer.route;
  return route !== undefined && typeof route.path === 'string' && route.path.toLowerCase() === path && route.methods.post === true;
}

export type RouteClaim = { ok: true; release(): void } | { ok: false; holder: string };

/**
 * Adds `POST path` to the HTTP nodes' app for `owner`, unless another node already serves it
 * (one of ours, or a core `http in` node): then nothing is added and `holder` says who.
 * release() removes exactly this route, as the core `http in` node removes its own on close,
 * so that a redeploy can add it again.
 */
export function claimPostRoute(app: NodeApp, path: string, owner: string, handler: NodeRouteHandler): RouteClaim {
  const key = path.toLowerCase();
  let held = claims.get(app);
  if (held === undefined) claims.set(app, (held = new Map()));
  const holder = held.get(key);
  if (holder !== undefined) return { ok: false, holder };
  if (routerStack(app).some((layer) => isPostRoute(layer, key))) return { ok: false, holder: 'another node (http in?)' };
  app.post(path, handler);
  held.set(key, owner);
  let released = false;
  return {
    ok: true,
    release: () => {
      if (released) return;
      released = true;
      if (held.get(key) === owner) held.delete(key);
      const stack = routerStack(app);
      const index = stack.findIndex((layer) => isPostRoute(layer, key) && layer.route!.stack.some((s) => s.handle === handler));
      if (index !== -1) stack.splice(index, 1);
    },
  };
}
