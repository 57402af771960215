import type { ClusterHealth } from '../../cluster/redis-claims';
import { clusterSettings, invalidField } from '../../cluster/settings';
import { EraError, type EventClaims } from '../../era';
import type { NodeDef, RedNode } from './red';

/** What the statuses show of the cluster: its health, or the field that makes it unusable. */
export interface ClusterView {
  health: ClusterHealth | 'invalid';
  field?: string;
}

/** An era-server's part in a cluster of replicas: the claims its client uses, and their health. */
export interface ClusterLink {
  /** Undefined without a (usable) cluster: the client then emits every event itself. */
  claims: EventClaims | undefined;
  /** Undefined when no cluster is configured. */
  view(): ClusterView | undefined;
  close(): void;
}

const OFF: ClusterLink = { claims: undefined, view: () => undefined, close: () => undefined };

/** The cluster's default name: the server's domain, else (token mode) the host of its URL. */
function defaultName(def: NodeDef): string {
  const domain = typeof def.domain === 'string' ? def.domain.trim() : '';
  if (domain !== '') return domain;
  try {
    return new URL(String(def.url ?? '').trim()).host;
  } catch {
    return '';
  }
}

/**
 * Starts the Redis claims of an era-server whose cluster section is on; `changed` is called
 * when their health changes. A cluster section that cannot work is reported once: events then
 * go out from this replica without claims (at least once).
 */
export function startCluster(node: RedNode, def: NodeDef, changed: () => void): ClusterLink {
  let settings;
  try {
    settings = clusterSettings({
      cluster: def.cluster,
      redisUrl: def.redisUrl,
      clusterName: def.clusterName,
      redisPassword: node.credentials?.redisPassword,
      defaultName: defaultName(def),
    });
  } catch (err) {
    const error = err instanceof EraError ? err : new EraError('ERA_INVALID_INPUT', `Cluster: ${String(err)}`);
    node.warn(`${error.message}. Until it is fixed this replica emits every event itself (at least once)`);
    const view: ClusterView = { health: 'invalid', field: invalidField(error) };
    return { claims: undefined, view: () => view, close: () => undefined };
  }
  if (settings === undefined) return OFF;
  // Loaded on first use: node-redis costs a single instance ~150 ms of start-up and a few MB.
  const { RedisClaims } = require('../../cluster/redis-claims') as typeof import('../../cluster/redis-claims');
  const claims = new RedisClaims({
    settings,
    logger: { log: (m) => node.log(m), warn: (m) => node.warn(m) },
    health: () => changed(),
  });
  return { claims, view: () => ({ health: claims.health }), close: () => claims.close() };
}
