import type { ClusterView } from './cluster-claims';
import type { NodeStatus, RedApi, RedNode } from './red';

/** The connection states the config node reports, plus a configuration it could not use. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'auth_failed' | 'invalid_config';

const SERVER_NS = '@era-cti/node-red-era/era-server:';

/** A short, translated status for a connection state (and, once connected, the cluster's); `idle` shows nothing. */
export function linkStatus(RED: RedApi, state: LinkState, detail?: string, cluster?: ClusterView): NodeStatus {
  const t = (key: string, substitutions?: Record<string, unknown>) => RED._(`${SERVER_NS}status.${key}`, substitutions);
  switch (state) {
    case 'idle':
      return {};
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t('connecting') };
    case 'connected':
      // Connected, but a subscription was refused: events may be missing, which a user must see.
      if (detail) return { fill: 'yellow', shape: 'dot', text: `${t('connected')}: ${short(detail)}` };
      switch (cluster?.health) {
        case 'ok':
          return { fill: 'green', shape: 'dot', text: `${t('connected')} · ${t('clusterOk')}` };
        // Events still flow, but every replica may emit them: a user must see that.
        case 'unreachable':
          return { fill: 'yellow', shape: 'dot', text: `${t('connected')} · ${t('clusterUnreachable')}` };
        case 'invalid':
          return { fill: 'yellow', shape: 'dot', text: `${t('connected')} · ${t('clusterInvalid', { field: cluster.field })}` };
        default:
          return { fill: 'green', shape: 'dot', text: t('connected') };
      }
    case 'disconnected':
      return { fill: 'red', shape: 'ring', text: detail ? `${t('disconnected')}: ${short(detail)}` : t('disconnected') };
    case 'auth_failed':
      return { fill: 'red', shape: 'dot', text: t('authFailed') };
    case 'invalid_config':
      return { fill: 'red', shape: 'dot', text: detail ? short(detail) : t('invalidConfig') };
  }
}

/** A failed request's status: red ring with the error's code turned into a few words. */
export function failureStatus(RED: RedApi, code: string | undefined, statusCode?: number): NodeStatus {
  const key = code && /^ERA_[A-Z_]+$/.test(code) ? code : 'ERA_ERROR';
  const text = RED._(`${SERVER_NS}status.errors.${key}`, { statusCode: statusCode ?? '' });
  return { fill: 'red', shape: 'ring', text };
}

/** Success statuses by HTTP status: translating on every message was a tenth of a command's CPU. */
const successes = new Map<number | undefined, NodeStatus>();

export function successStatus(RED: RedApi, statusCode?: number): NodeStatus {
  let status = successes.get(statusCode);
  if (!status) {
    status = { fill: 'green', shape: 'dot', text: RED._(`${SERVER_NS}status.ok`, { statusCode: statusCode ?? '' }) };
    successes.set(statusCode, status);
  }
  return status;
}

function short(text: string): string {
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * Remembers what a node shows so that a burst of messages with the same outcome does not
 * send one status update per message to every open editor.
 */
export class StatusView {
  private shown = '';

  constructor(private readonly node: RedNode) {}

  show(status: NodeStatus): void {
    const key = `${status.fill ?? ''}|${status.shape ?? ''}|${status.text ?? ''}`;
    if (key === this.shown) return;
    this.shown = key;
    this.node.status(status);
  }
}
