import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeDelivery, type DeliveryContents } from '../../era';
import type { NodeRouteHandler } from './red';

/** Bodies above this are refused (413) unread: one event is a few hundred bytes. */
const MAX_DELIVERY_BYTES = 1024 * 1024;
const SECRET_HEADER = 'x-era-secret';
export const SECRET_PARAM = 'secret';

/** Why a delivery was refused, for the node's log. */
export type Refusal = 'no secret or a wrong one' | 'a body over 1 MiB' | 'an empty body' | 'a body that is not JSON' | 'JSON that holds no event';

export interface EndpointHandlers {
  /** The delivery was answered 200; its events, in order. Must not throw. */
  accepted(contents: DeliveryContents): void;
  refused(status: number, why: Refusal): void;
}

const OK_BODY = '{"result":"ok"}';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The secret as the request carries it (`?secret=` or the `X-Era-Secret` header), checked in
 * constant time: both sides are hashed to the same length first, so neither the secret's
 * length nor its first differing character shows in the answer's timing.
 */
function secretChecker(secret: string | undefined): ((req: IncomingMessage) => boolean) | undefined {
  if (secret === undefined || secret === '') return undefined;
  const expected = digest(secret);
  return (req) => {
    const header = req.headers[SECRET_HEADER];
    let given = typeof header === 'string' ? header : undefined;
    if (given === undefined) {
      const query = (req.url ?? '').indexOf('?');
      given = query === -1 ? undefined : (new URLSearchParams((req.url ?? '').slice(query + 1)).get(SECRET_PARAM) ?? undefined);
    }
    return timingSafeEqual(digest(given ?? ''), expected);
  };
}

function answer(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

function refuse(res: ServerResponse, status: number, why: Refusal, handlers: EndpointHandlers): void {
  answer(res, status, JSON.stringify({ result: 'error', errormsg: `refused: ${why}` }));
  handlers.refused(status, why);
}

/**
 * The POST handler of a webhook endpoint. A delivery is answered at once — 401 without the
 * secret, 413 over 1 MiB (the rest of the body is read and dropped, as body-parser does, so
 * the connection stays usable), 400 when it holds no event, else 200 — and its events are
 * handed on only after the 200 went out.
 */
export function webhookEndpoint(secret: string | undefined, handlers: EndpointHandlers): NodeRouteHandler {
  const authorised = secretChecker(secret);
  return (req, res) => {
    if (authorised !== undefined && !authorised(req)) {
      req.resume();
      refuse(res, 401, 'no secret or a wrong one', handlers);
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_DELIVERY_BYTES) {
      req.resume();
      refuse(res, 413, 'a body over 1 MiB', handlers);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      size += chunk.length;
      if (size > MAX_DELIVERY_BYTES) {
        tooBig = true;
        chunks.length = 0;
        refuse(res, 413, 'a body over 1 MiB', handlers);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooBig) return;
      const raw = Buffer.concat(chunks, size).toString('utf8');
      if (raw.trim() === '') return refuse(res, 400, 'an empty body', handlers);
      const contents = decodeDelivery(raw);
      if (contents === undefined) return refuse(res, 400, 'a body that is not JSON', handlers);
      if (contents.events.length === 0) return refuse(res, 400, 'JSON that holds no event', handlers);
      answer(res, 200, OK_BODY);
      handlers.accepted(contents);
    });
    // A client that goes away mid-body has nothing to be answered; its events never came.
    req.on('error', () => undefined);
  };
}
