/** Waiting for a Node-RED started as a process to be ready for a deploy. */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves once Node-RED at `url` (its editor root, ending in `/`) has loaded its flows. It listens
 * before that load ends: until then `GET /flows` answers 200 with no revision, and a flow deployed in
 * that window loses its credentials to the load.
 */
export async function flowsLoaded(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const limit = Date.now() + timeoutMs;
  while (Date.now() < limit) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      if (res.ok && typeof ((await res.json()) as { rev?: unknown } | null)?.rev === 'string') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Node-RED did not load its flows within ${Math.round(timeoutMs / 1000)} s`);
}
