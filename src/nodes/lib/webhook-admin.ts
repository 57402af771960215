/**
 * Paths an era-webhook must not take: those Node-RED's admin app (the editor and its API)
 * answers. Node-RED mounts the admin app before the HTTP nodes, so on a shared root a POST to
 * `/flows` or `/auth/token` is the editor's: a webhook there would never receive anything, and
 * its guard, marking the body read, would leave the editor's own handlers without a body.
 */
import { answersPost, mountPath, rootOf, routerStack } from './http-route';
import type { ExpressApp } from './webhook-red';

/**
 * The first segments of the paths of Node-RED's editor and admin API (4.x and 5.x). Their
 * express apps are mounted through closures no node can look into, so they are named here;
 * what nodes add to the admin app (`RED.httpAdmin`) is read from its routes.
 */
const EDITOR_SEGMENTS = new Set([
  'auth', 'comms', 'context', 'credentials', 'diagnostics', 'flow', 'flows', 'icons', 'library',
  'locales', 'nodes', 'plugins', 'projects', 'resources', 'settings', 'theme',
]);

/** `full` relative to the mount path `prefix` ('/' for the prefix itself), or undefined when it is not under it. */
function under(full: string, prefix: string): string | undefined {
  if (full === prefix) return '/';
  return full.startsWith(`${prefix}/`) ? full.slice(prefix.length) : undefined;
}

/**
 * What of the admin app answers POST `path` of the HTTP-nodes app, in words for the node's
 * error; undefined when nothing does (the admin app is not served, is served on another root,
 * or has no such path).
 */
export function adminAnswers(httpAdmin: ExpressApp | undefined, httpNode: ExpressApp, path: string): string | undefined {
  if (httpAdmin?.parent === undefined || rootOf(httpAdmin) !== rootOf(httpNode)) return undefined;
  const full = `${mountPath(httpNode)}${path.toLowerCase()}`;
  // The admin app and the apps it is mounted in, up to (not including) the root.
  const chain: ExpressApp[] = [];
  for (let app: ExpressApp = httpAdmin; app.parent !== undefined; app = app.parent) chain.push(app);
  const editor = chain[chain.length - 1]!;
  const inEditor = under(full, mountPath(editor));
  if (inEditor === undefined) return undefined;
  const segment = inEditor.split('/')[1] ?? '';
  if (EDITOR_SEGMENTS.has(segment)) return `Node-RED's editor (its /${segment}${mountPath(editor) === '' ? '' : ` under ${mountPath(editor)}`})`;
  for (const app of chain) {
    const relative = under(full, mountPath(app));
    const route = relative === undefined ? undefined : routerStack(app).find((layer) => answersPost(layer, relative));
    if (route !== undefined) return `Node-RED's admin API (POST ${String(route.route?.path)}, a node's editor endpoint)`;
  }
  return undefined;
}
