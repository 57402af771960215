/**
 * A delivery's body as JSON, whoever read it: a body parser in front of the endpoint (the user's
 * `httpNodeMiddleware`) leaves an object, a string or a Buffer; otherwise it is read here,
 * within a bound. Bytes are decoded by the charset the request names (UTF-8 when none), with
 * whatever Node.js's TextDecoder knows (windows-1251 and koi8-r included).
 */
import { TextDecoder } from 'node:util';
import { shownValue } from '../../era';
import type { HttpRequest } from './webhook-red';

/** Bodies above this are refused (413): one event is a few hundred bytes. */
const MAX_DELIVERY_BYTES = 1024 * 1024;
/**
 * Bodies nested deeper than this are refused (400): an event is a few levels deep, and copies of
 * a message (Node-RED clones what a node sends) recurse once per level, so a body nested
 * 200,000 deep would overflow the stack after its 200 went out.
 */
const MAX_DELIVERY_DEPTH = 64;

export type BodyResult = { json: unknown } | { status: 400 | 413 | 415; why: string };

/** The `charset` parameter of a Content-Type, lower-cased; undefined when none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))/i.exec(contentType ?? '');
  const value = match?.[1] ?? match?.[2];
  return value === undefined || value === '' ? undefined : value.toLowerCase();
}

/** Whether `json` has arrays or objects nested more than `limit` deep (walked without recursion). */
function deeperThan(json: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value: json, depth: 0 }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > limit) return true;
    for (const child of Object.values(item.value)) if (typeof child === 'object' && child !== null) pending.push({ value: child, depth });
  }
  return false;
}

function usable(json: unknown): BodyResult {
  if (deeperThan(json, MAX_DELIVERY_DEPTH)) return { status: 400, why: `JSON nested more than ${MAX_DELIVERY_DEPTH} levels deep` };
  return { json };
}

function parsed(text: string): BodyResult {
  if (text.trim() === '') return { status: 400, why: 'an empty body' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { status: 400, why: 'a body that is not JSON' };
  }
  return usable(json);
}

function decoded(bytes: Buffer, contentType: string | undefined): BodyResult {
  if (bytes.length > MAX_DELIVERY_BYTES) return { status: 413, why: 'a body over 1 MiB' };
  const charset = charsetOf(contentType) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    return { status: 415, why: `a charset it cannot decode (${shownValue(charset)})` };
  }
  try {
    return parsed(decoder.decode(bytes));
  } catch {
    return { status: 400, why: `a body that is not valid ${decoder.encoding}` };
  }
}

/** What a parser in front left in `req.body`, or undefined when nothing in front read the body. */
function readInFront(req: HttpRequest): BodyResult | undefined {
  if (req._body !== true && !req.readableEnded) return undefined;
  const body = req.body;
  if (Buffer.isBuffer(body)) return decoded(body, req.headers['content-type']);
  if (typeof body === 'string') return Buffer.byteLength(body) > MAX_DELIVERY_BYTES ? { status: 413, why: 'a body over 1 MiB' } : parsed(body);
  if (typeof body === 'object' && body !== null && (req._body === true || Object.keys(body).length > 0)) return usable(body);
  return { status: 400, why: 'a body another middleware read and did not keep' };
}

/**
 * Calls `done` once with the body's JSON or why there is none. Over the bound it answers at
 * once and drains the rest unkept, as body-parser does, so the connection stays usable. A
 * client that goes away mid-body gets no call: there is nobody to answer.
 */
export function readDelivery(req: HttpRequest, done: (result: BodyResult) => void): void {
  if (Number(req.headers['content-length']) > MAX_DELIVERY_BYTES) {
    if (!req.readableEnded) req.resume();
    return done({ status: 413, why: 'a body over 1 MiB' });
  }
  const inFront = readInFront(req);
  if (inFront !== undefined) return done(inFront);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (chunk: Buffer) => {
    if (tooBig) return;
    size += chunk.length;
    if (size > MAX_DELIVERY_BYTES) {
      tooBig = true;
      chunks.length = 0;
      done({ status: 413, why: 'a body over 1 MiB' });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!tooBig) done(decoded(Buffer.concat(chunks, size), req.headers['content-type']));
  });
  req.on('error', () => undefined);
}
