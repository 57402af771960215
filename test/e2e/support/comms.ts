/**
 * Node statuses as the editor sees them: the admin `/comms` WebSocket, authenticated with the
 * editor's token when adminAuth is on, subscribed to `status/#` (Node-RED sends the last status
 * of every node at once, then each change).
 */
import WebSocket from 'ws';

export interface NodeStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

interface CommsMessage {
  topic?: string;
  data?: unknown;
}

export class Comms {
  private readonly statuses = new Map<string, NodeStatus>();
  private readonly changed = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (!Array.isArray(parsed)) return;
      for (const m of parsed as CommsMessage[]) {
        if (typeof m.topic === 'string' && m.topic.startsWith('status/')) this.statuses.set(m.topic.slice('status/'.length), (m.data ?? {}) as NodeStatus);
      }
      for (const wake of this.changed) wake();
    });
  }

  /** `url` the editor's address (http://host:port[/httpAdminRoot]); `token` the bearer token when adminAuth is on. */
  static async open(url: string, token?: string): Promise<Comms> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws').replace(/\/+$/, '')}/comms`);
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => reject(new Error('/comms closed before it opened')));
    });
    if (token !== undefined) {
      const answer = new Promise<string>((resolve) => {
        ws.once('message', (raw) => resolve(raw.toString()));
      });
      ws.send(JSON.stringify({ auth: token }));
      const reply = await answer;
      if (reply !== JSON.stringify({ auth: 'ok' })) {
        ws.terminate();
        throw new Error(`/comms refused the token: ${reply}`);
      }
    }
    const comms = new Comms(ws);
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    return comms;
  }

  /** Resolves with the node's status once `ok` accepts it; rejects after `timeoutMs` saying what it last was. */
  until(nodeId: string, ok: (s: NodeStatus) => boolean, what: string, timeoutMs = 20_000): Promise<NodeStatus> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const s = this.statuses.get(nodeId);
        if (s !== undefined && ok(s)) {
          finish();
          resolve(s);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`status of ${nodeId}: not ${what} within ${timeoutMs} ms (last: ${JSON.stringify(this.statuses.get(nodeId))})`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.changed.delete(check);
      };
      this.changed.add(check);
      check();
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
