import { type EraClientOptions, EraError, type TlsConfig } from '../../era';
import type { NodeDef, RedApi } from './red';

/** The part of Node-RED's core tls-config node that gives its settings. */
interface TlsConfigNode {
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

const material = (value: unknown): string | Buffer | undefined =>
  typeof value === 'string' || Buffer.isBuffer(value) ? value : undefined;

/** The settings of the tls-config node `id` names (property `tls` of era-server), if any. */
export function tlsConfigOf(RED: RedApi, id: unknown): TlsConfig | undefined {
  if (typeof id !== 'string' || id === '' || id === '_ADD_') return undefined;
  const node = RED.nodes.getNode(id) as Partial<TlsConfigNode> | null;
  if (!node || typeof node.addTLSOptions !== 'function') {
    throw new EraError('ERA_INVALID_INPUT', 'The TLS configuration this server names is missing: choose one again in the server\'s dialog');
  }
  const o = node.addTLSOptions({});
  return {
    ca: material(o.ca),
    cert: material(o.cert),
    key: material(o.key),
    passphrase: typeof o.passphrase === 'string' ? o.passphrase : undefined,
    servername: typeof o.servername === 'string' && o.servername !== '' ? o.servername : undefined,
    verifyServer: o.rejectUnauthorized !== false,
  };
}

/** Client options from the config node's properties and credentials (and its tls-config node's settings). */
export function clientOptions(
  def: NodeDef,
  credentials: Record<string, string | undefined>,
  tlsConfig?: TlsConfig,
): EraClientOptions {
  const seconds = (v: unknown, fallback: number) => {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n * 1000 : fallback;
  };
  return {
    url: String(def.url ?? '').trim(),
    domain: String(def.domain ?? '').trim(),
    authMode: def.authMode === 'token' ? 'token' : 'user',
    login: credentials.login,
    password: credentials.password,
    token: credentials.token,
    verifyTls: def.verifyTls !== false && def.verifyTls !== 'false',
    ca: typeof def.ca === 'string' && def.ca.trim() ? def.ca : undefined,
    tlsConfig,
    pingIntervalMs: seconds(def.pingInterval, 10_000),
    requestTimeoutMs: seconds(def.requestTimeout, 10_000),
    callTableCap: Number.isInteger(Number(def.maxCalls)) && Number(def.maxCalls) > 0 ? Number(def.maxCalls) : 10_000,
  };
}
