/**
 * Which addresses a URL reaches, as the platform's ban filter sees this client: the filter
 * counts by the address a request comes from, whatever port it went to, so the key is the
 * platform's machine alone. Every name and literal that reaches one machine shares its key:
 * `localhost` is `127.0.0.1` and `::1`. IPv4 and IPv6 stay apart — this client comes from a
 * different address over each, and the platform counts (and clears) each on its own — and a
 * name with several addresses may reach any of them.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One key per address `origin` may reach, from one resolution of its host. */
export async function addressKeys(origin: URL, timeoutMs: number): Promise<string[]> {
  const host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = isIP(host) ? [host] : await resolve(host, timeoutMs);
  return [...new Set((addresses ?? [`name:${host.toLowerCase()}`]).map(machine))];
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

/** The whole IPv4 loopback range is one address of this machine, as ::1 is over IPv6. */
function machine(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
  if (v4.startsWith('127.')) return 'loopback-ipv4';
  if (v4 === '::1' || v4 === '0:0:0:0:0:0:0:1') return 'loopback-ipv6';
  return v4.toLowerCase();
}
