/**
 * The cluster section of an era-server node, checked: off, or where Redis is and what the
 * cluster is called. A setting that cannot work is an ERA_INVALID_INPUT naming its field.
 */
import { EraError, shownUrl, shownValue } from '../era';

export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  database?: number;
}

export interface ClusterSettings {
  /** Every claim key starts with `<name>:`: replicas of one cluster share it, other clusters do not. */
  name: string;
  redis: RedisTarget;
  /** The Redis address for log lines: scheme, host, port and database, never a user name or password. */
  shownUrl: string;
}

export interface ClusterFields {
  cluster: unknown;
  redisUrl: unknown;
  clusterName: unknown;
  redisPassword: string | undefined;
  /** The name when `clusterName` is empty: the server's domain, or its URL's host in token mode. */
  defaultName: string;
}

function invalid(message: string): EraError {
  return new EraError('ERA_INVALID_INPUT', `Cluster: ${message}`);
}

/** The field that made the settings unusable, for the status: `cluster`, `redisUrl` or `clusterName`. */
export function invalidField(err: EraError): string {
  return /^Cluster: (cluster|redisUrl|clusterName)\b/.exec(err.message)?.[1] ?? 'cluster';
}

/** Undefined when the cluster is off; throws ERA_INVALID_INPUT (naming the field) when it cannot work. */
export function clusterSettings(fields: ClusterFields): ClusterSettings | undefined {
  const kind = typeof fields.cluster === 'string' ? fields.cluster.trim() : fields.cluster;
  if (kind === undefined || kind === null || kind === '') return undefined;
  if (kind !== 'redis') throw invalid(`cluster ${shownValue(kind)} is not known: leave it empty (off) or set it to redis`);
  const text = typeof fields.redisUrl === 'string' ? fields.redisUrl.trim() : '';
  if (text === '') throw invalid('redisUrl is empty: give the Redis address, e.g. redis://redis:6379/0');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`redisUrl ${shownUrl(text)} is not a URL: write it as redis://host:6379/0 (rediss:// for TLS)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw invalid(`redisUrl ${shownUrl(text)} must start with redis:// or rediss:// (TLS)`);
  }
  // Not echoed: the URL itself holds the secret.
  if (url.password !== '') throw invalid('redisUrl must not contain a password: put it in the Redis password field');
  if (url.hostname === '') throw invalid(`redisUrl ${shownUrl(text)} names no host: write it as redis://host:6379/0`);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) {
    throw invalid(`redisUrl ${shownUrl(text)}: after the port comes a database number (redis://host:6379/0), not ${shownValue(path)}`);
  }
  const given = typeof fields.clusterName === 'string' ? fields.clusterName.trim() : '';
  const name = given !== '' ? given : fields.defaultName.trim();
  if (name === '') throw invalid('clusterName is empty and there is no domain to take instead: name the cluster');
  const redis: RedisTarget = {
    // The WHATWG parser keeps an IPv6 literal in brackets; the socket wants it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:',
  };
  if (url.username !== '') redis.username = decodeURIComponent(url.username);
  if (fields.redisPassword !== undefined && fields.redisPassword !== '') redis.password = fields.redisPassword;
  if (path !== '') redis.database = Number(path);
  return { name, redis, shownUrl: `${url.protocol}//${url.host}${path === '' ? '' : `/${path}`}` };
}
