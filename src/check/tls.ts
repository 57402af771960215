/**
 * The TLS step: one handshake with the platform's port, with the client's own TLS settings
 * (its CA bundle, client certificate, server name), to say whether the chain verifies and if
 * not, why — and what the certificate is — before the client's requests fail with it.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { connectOptions, describeNetworkError, proxyFor, type TlsSettings, tunnel } from '../era';
import { message, result, seconds, type StepResult } from './context';

export interface TlsFacts {
  verified: boolean;
  /** Why the chain or the name did not verify, in words. */
  problem?: string;
  protocol?: string;
  validFrom?: string;
  validTo?: string;
  /** The issuer's organisation, else its common name. */
  issuer?: string;
  daysLeft?: number;
}

const PROBLEMS = new Map<string, string>([
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'a self-signed CA in the chain that is not trusted (a private CA)'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unknown CA: the issuer is not trusted (a private CA, or a chain without its intermediate)'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unknown CA: the issuer is not trusted (a private CA)'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'unknown CA: the issuer is not trusted'],
  ['CERT_HAS_EXPIRED', 'the certificate has expired'],
  ['CERT_NOT_YET_VALID', 'the certificate is not valid yet'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'name mismatch: the certificate is not issued for this host'],
]);

function problemText(error: Error | string | undefined): string {
  const code = typeof error === 'string' ? error : (error as { code?: string } | undefined)?.code ?? error?.message ?? 'not verified';
  return PROBLEMS.get(code) ?? code;
}

function isoDate(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 10);
}

function nameOf(entity: Record<string, string | string[] | undefined> | undefined): string | undefined {
  const value = entity?.O ?? entity?.CN;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A TLS connection to the platform the way the client makes one: directly, or tunnelled through the environment's proxy. */
function connectTls(origin: URL, options: tls.ConnectionOptions, timeoutMs: number, ready: (err: Error | null, socket?: Duplex) => void): void {
  const proxy = proxyFor(origin);
  if (proxy === undefined) ready(null, tls.connect(options));
  else tunnel(proxy, true, timeoutMs)(options, ready);
}

export function probeTls(origin: URL, settings: TlsSettings, timeoutMs: number): Promise<TlsFacts> {
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const options: tls.ConnectionOptions = {
    host,
    port: Number(origin.port || 443),
    servername: net.isIP(host) === 0 ? host : undefined,
    ...connectOptions(settings),
    // Read the certificate whatever it is: `authorized` says whether the client would accept it.
    rejectUnauthorized: false,
  };
  return new Promise<TlsFacts>((resolve, reject) => {
    let socket: Duplex | undefined;
    const fail = (err: unknown) => {
      clearTimeout(timer);
      socket?.destroy();
      // In the words the client's own errors use for the same fault.
      reject(new Error(describeNetworkError(err)));
    };
    const timer = setTimeout(() => fail(new Error(`no TLS handshake within ${seconds(timeoutMs)} (does this port speak https?)`)), timeoutMs);
    connectTls(origin, options, timeoutMs, (err, connected) => {
      if (err || !(connected instanceof tls.TLSSocket)) {
        fail(err ?? new Error('no TLS connection'));
        return;
      }
      socket = connected;
      connected.on('error', fail);
      connected.once('secureConnect', () => {
        clearTimeout(timer);
        const cert = connected.getPeerCertificate();
        const validTo = isoDate(cert.valid_to);
        const facts: TlsFacts = {
          verified: connected.authorized,
          protocol: connected.getProtocol() ?? undefined,
          validFrom: isoDate(cert.valid_from),
          validTo,
          issuer: nameOf(cert.issuer as unknown as Record<string, string | string[] | undefined>),
        };
        if (validTo !== undefined) facts.daysLeft = Math.floor((new Date(cert.valid_to).getTime() - Date.now()) / 86_400_000);
        if (!connected.authorized) facts.problem = problemText(connected.authorizationError);
        connected.end();
        resolve(facts);
      });
    });
  });
}

/** What to do about a certificate the client refuses. */
const REMEDY = 'give the CA\'s certificate (--ca FILE, or the CA bundle in the server dialog); switch verification off only for a test server';

export async function tlsStep(origin: URL, settings: TlsSettings, timeoutMs: number): Promise<StepResult> {
  if (origin.protocol !== 'https:') return result('skipped', 'plain http: no TLS');
  let facts: TlsFacts;
  try {
    facts = await probeTls(origin, settings, timeoutMs);
  } catch (err) {
    return result('fail', `no TLS connection: ${message(err)}`);
  }
  const details: string[] = [];
  if (facts.protocol) details.push(`protocol ${facts.protocol}`);
  if (facts.validFrom && facts.validTo) details.push(`valid from ${facts.validFrom} to ${facts.validTo}`);
  if (facts.daysLeft !== undefined && facts.daysLeft >= 0 && facts.daysLeft < 30) details.push(`expires in ${facts.daysLeft} days`);
  if (facts.issuer) details.push(`issuer ${facts.issuer}`);
  const about = [facts.protocol, facts.issuer && `issued by ${facts.issuer}`].filter(Boolean).join(', ');
  if (facts.verified) return result('pass', `certificate verified${about ? ` (${about})` : ''}`, details);
  if (!settings.verifyTls) {
    return result('pass', `certificate NOT verified (${facts.problem}); verification is off for this server, so the client accepts it`, details);
  }
  return result('fail', `certificate not trusted: ${facts.problem}`, [...details, `the client refuses it: ${REMEDY}`]);
}
