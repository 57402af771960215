/**
 * Which platform a URL reaches, as its ban filter sees it: the machine and port behind the
 * host name. The platform bans the address a request comes from, so every name and literal
 * that reaches one server must share one ban budget: `localhost`, `127.0.0.1` and `::1` are
 * the same machine, and a name with several addresses may reach any of them.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** The whole loopback range and ::1 are this machine, whichever a name resolves to. */
const LOOPBACK = 'loopback';

/** One key per address `origin` may reach (`<address>#<port>`), from one resolution of its host. */
export async function addressKeys(origin: URL, timeoutMs: number): Promise<string[]> {
  const host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = origin.port || (origin.protocol === 'https:' ? '443' : '80');
  const addresses = isIP(host) ? [host] : await resolve(host, timeoutMs);
  const keys = new Set((addresses ?? [`name:${host.toLowerCase()}`]).map((a) => `${machine(a)}#${port}`));
  return [...keys];
}

/** Every address of `host`, or undefined when it does not resolve here (a proxy may still reach it). */
async function resolve(host: string, timeoutMs: number): Promise<string[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), late]);
    return found === undefined || found.length === 0 ? undefined : found.map((a) => a.address);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

function machine(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
  if (v4.startsWith('127.') || v4 === '::1' || v4 === '0:0:0:0:0:0:0:1') return LOOPBACK;
  return v4.toLowerCase();
}
