import type { EraClientOptions } from '../../era/client';
import type { NodeDef } from './red';

/** Client options from the config node's properties and credentials. */
export function clientOptions(
  def: NodeDef,
  credentials: Record<string, string | undefined>,
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
    pingIntervalMs: seconds(def.pingInterval, 10_000),
    requestTimeoutMs: seconds(def.requestTimeout, 10_000),
    callTableCap: Number.isInteger(Number(def.maxCalls)) && Number(def.maxCalls) > 0 ? Number(def.maxCalls) : 10_000,
  };
}
