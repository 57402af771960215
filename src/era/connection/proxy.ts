/**
 * Corporate proxies, the way curl, undici and Node-RED's own nodes read them: HTTPS_PROXY for
 * https targets, HTTP_PROXY for http ones (lower-case names first), NO_PROXY to exempt hosts.
 * One decision serves REST (undici's ProxyAgent) and the WebSocket (a CONNECT tunnel), so the
 * two never disagree about which way a host is reached.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { EraError } from '../errors';

type Env = Record<string, string | undefined>;

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

function variable(env: Env, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * NO_PROXY: comma- or space-separated host names, each optionally with `:port`; a leading `.`
 * or `*.` means the domain and its subdomains, as does the bare name; `*` exempts everything.
 */
function exempt(target: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
  for (const raw of noProxy.split(/[,\s]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;
    const match = /^(.+):(\d+)$/.exec(raw);
    const name = (match ? match[1]! : raw).replace(/^\*?\./, '').replace(/^\[|\]$/g, '').toLowerCase();
    if (match && Number(match[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * The proxy the environment names for `target`, or undefined to go direct. Throws
 * ERA_INVALID_INPUT for a proxy variable that is not an http(s) URL, naming it.
 */
export function proxyFor(target: URL, env: Env = process.env): URL | undefined {
  const name = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = variable(env, name) ?? (name === 'HTTPS_PROXY' ? variable(env, 'HTTP_PROXY') : undefined);
  if (value === undefined || exempt(target, variable(env, 'NO_PROXY'))) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new EraError('ERA_INVALID_INPUT', `The environment variable ${name} is not a proxy URL (expected http://host:port)`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new EraError('ERA_INVALID_INPUT', `The environment variable ${name} names a ${proxy.protocol.slice(0, -1)} proxy: only http:// and https:// proxies are supported`);
  }
  return proxy;
}

/** The proxy as error messages show it: scheme, host and port, never its credentials. */
export function shownProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** What ws hands to a `createConnection`: the target and the TLS options of the request. */
interface ConnectionOptions extends Omit<tls.ConnectionOptions, 'host' | 'port'> {
  host?: string | null;
  port?: number | string | null;
}

type OnCreate = (err: Error | null, socket?: Duplex) => void;

/**
 * A `createConnection` for ws (Node's http client calls it with a callback): a CONNECT tunnel
 * through `proxy` to the target, then TLS over it for wss. A proxy that refuses, or does not
 * answer within `timeoutMs`, fails the connection with its reason.
 */
export function tunnel(proxy: URL, secure: boolean, timeoutMs: number) {
  return (options: ConnectionOptions, oncreate: OnCreate): undefined => {
    const host = String(options.host ?? 'localhost');
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${String(options.port ?? (secure ? 443 : 80))}`;
    const headers: Record<string, string> = { host: target };
    if (proxy.username !== '' || proxy.password !== '') {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const request = (proxy.protocol === 'https:' ? https : http).request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.port || DEFAULT_PORTS[proxy.protocol],
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      timeout: timeoutMs,
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      request.destroy();
      oncreate(err);
    };
    request.once('timeout', () => fail(new Error(`the proxy ${shownProxy(proxy)} did not open a tunnel to ${target} within ${timeoutMs} ms`)));
    request.once('error', (err) => fail(new Error(`the proxy ${shownProxy(proxy)} cannot be reached: ${err.message}`)));
    request.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(new Error(`the proxy ${shownProxy(proxy)} refused a tunnel to ${target} (HTTP ${res.statusCode} ${res.statusMessage ?? ''})`.trimEnd()));
        return;
      }
      settled = true;
      request.setTimeout(0);
      if (!secure) {
        oncreate(null, socket);
        return;
      }
      // As ws itself connects: SNI with the host name, none for an address.
      const { host: _host, port: _port, ...tlsOptions } = options;
      oncreate(null, tls.connect({ ...tlsOptions, socket, servername: options.servername ?? (net.isIP(host) ? '' : host) }));
    });
    request.end();
    return undefined;
  };
}
