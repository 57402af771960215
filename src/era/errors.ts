/**
 * The one error type the client throws. `code` is what flows branch on (Catch nodes see
 * `msg.error.code`), the message is a sentence for a person. Messages are built only from
 * our own words, host names, status numbers and body excerpts passed through a redactor,
 * so no password, token or Authorization header can end up in one.
 */
import { shownValue } from './util/text';

/**
 * The six codes of the package's contract. An answer the client cannot use (an error reply on
 * the socket, a body of an unexpected shape) is ERA_HTTP: the platform answered, but not with
 * what was asked for.
 */
export type EraErrorCode =
  | 'ERA_INVALID_INPUT'
  | 'ERA_NOT_CONNECTED'
  | 'ERA_AUTH_FAILED'
  | 'ERA_NOT_FOUND'
  | 'ERA_HTTP'
  | 'ERA_TIMEOUT';

export class EraError extends Error {
  readonly code: EraErrorCode;
  /** HTTP status for ERA_HTTP (and ERA_NOT_FOUND / ERA_AUTH_FAILED when they came from one). */
  readonly statusCode?: number;

  constructor(code: EraErrorCode, message: string, statusCode?: number) {
    super(message);
    this.name = 'EraError';
    this.code = code;
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}

/**
 * A user name and password typed into a URL: from after `scheme://` (or from the start, when
 * there is no such scheme) up to the last `@`, wherever that is. Taking the last one hides a
 * password that holds an `@`, a `/` or a space as well.
 */
const USER_INFO = /^(\s*[a-z][a-z0-9+.-]*:\/\/)?[^]*@/i;

/**
 * A URL as typed, the way a message may show it: its user information replaced by `…`, then
 * quoted, clipped and with control characters escaped (shownValue). Every message, status or
 * log line that repeats a URL goes through this.
 */
export function shownUrl(value: unknown): string {
  return shownValue(typeof value === 'string' ? value.replace(USER_INFO, '$1…@') : value);
}

/** Bad input or configuration, found before anything is sent (ERA_INVALID_INPUT). */
export function invalid(message: string): EraError {
  return new EraError('ERA_INVALID_INPUT', message);
}

/** Replaces every known secret in a text that came from outside (a body excerpt, a platform message). */
export type Redactor = (text: string) => string;

export function makeRedactor(secrets: readonly string[]): Redactor {
  // Very short "secrets" would blank out ordinary words and protect nothing.
  const kept = secrets.filter((s) => s.length >= 4);
  return (text) => {
    let out = text;
    for (const secret of kept) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  };
}

interface ErrnoLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/**
 * Names the cause of a failed connection in a few words ("connection refused", "TLS
 * certificate problem: self-signed certificate", ...). Used for REST errors and for the
 * socket's 'disconnected' detail, so both say the same thing for the same fault.
 */
/** How a refused connection is described: nothing listens on the platform's port. */
export const REFUSED = 'connection refused';

export function describeNetworkError(err: unknown): string {
  let e = err as ErrnoLike | undefined;
  // undici and ws sometimes wrap the socket error; the errno code sits on the cause.
  for (let depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (code === 'ECONNREFUSED') return REFUSED;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return 'host not found (DNS)';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'connection timed out';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
    if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || /certificate/i.test(message)) {
      return `TLS certificate problem: ${message || code}`;
    }
    if (code === 'EPROTO' || /wrong version number|ssl|tls/i.test(message)) {
      return 'TLS handshake failed (is the server really speaking https?)';
    }
    if (code === 'UND_ERR_SOCKET') return 'connection closed by the server';
    // undici's words when the proxy answers CONNECT with anything but 200.
    const proxyStatus = /Proxy response \((\d+)\)/.exec(message);
    if (proxyStatus) return `the proxy refused a tunnel to the platform (HTTP ${proxyStatus[1]})`;
    if (e.cause === undefined) return message || code || 'network error';
    e = e.cause as ErrnoLike;
  }
  return 'network error';
}
