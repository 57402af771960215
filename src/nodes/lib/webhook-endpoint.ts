import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliveryEvents, type DeliveryContents, messageOf, shownValue } from '../../era';
import { readDelivery } from './webhook-body';
import type { ErrorMiddleware, Middleware } from './webhook-red';

const SECRET_HEADER = 'x-era-secret';
export const SECRET_PARAM = 'secret';

export interface EndpointHandlers {
  /** The delivery was answered 200; its events, in order. Must not throw. */
  accepted(contents: DeliveryContents): void;
  /** The delivery was answered `status`, for a reason in a few words (for the node's log). */
  refused(status: number, why: string): void;
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

function refuse(res: ServerResponse, status: number, why: string, handlers: EndpointHandlers): void {
  answer(res, status, JSON.stringify({ result: 'error', errormsg: `refused: ${why}` }));
  handlers.refused(status, why);
}

/**
 * The POST handler of a webhook endpoint. A delivery is answered at once — 401 without the
 * secret, 413 over 1 MiB, 415 in a charset it cannot decode, 400 when it holds no event, else
 * 200 — and its events are handed on only after the 200 went out.
 */
export function webhookEndpoint(secret: string | undefined, handlers: EndpointHandlers): Middleware {
  const authorised = secretChecker(secret);
  return (req, res) => {
    if (authorised !== undefined && !authorised(req)) {
      if (!req.readableEnded) req.resume();
      refuse(res, 401, 'no secret or a wrong one', handlers);
      return;
    }
    readDelivery(req, (body) => {
      if (res.headersSent) return;
      if ('why' in body) return refuse(res, body.status, body.why, handlers);
      const contents = deliveryEvents(body.json);
      if (contents.events.length === 0) return refuse(res, 400, 'JSON that holds no event', handlers);
      answer(res, 200, OK_BODY);
      handlers.accepted(contents);
    });
  };
}

/**
 * After the webhook's route: an error of a middleware in front of the endpoint (the user's
 * `httpNodeMiddleware`: a body parser refusing a charset, say) is answered with its status,
 * and nothing is emitted.
 */
export function middlewareFailed(handlers: EndpointHandlers): ErrorMiddleware {
  // Four parameters: express tells an error handler by its arity.
  return (err, _req, res, _next) => {
    const given = typeof err === 'object' && err !== null ? Number((err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode) : NaN;
    const status = Number.isInteger(given) && given >= 400 && given < 600 ? given : 500;
    if (res.headersSent) return;
    // The middleware's own words go to the log only: they are not the platform's business.
    answer(res, status, JSON.stringify({ result: 'error', errormsg: `refused: a middleware in front of the endpoint failed (HTTP ${status})` }));
    handlers.refused(status, `httpNodeMiddleware failed: ${shownValue(messageOf(err))}`);
  };
}
