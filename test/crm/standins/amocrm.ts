/**
 * An amoCRM / Kommo account, written from the vendor's pages:
 * - Call log: https://www.amocrm.ru/developers/content/crm_platform/calls-api and
 *   https://www.kommo.com/developers/content/api_v4/adding-calls — `POST /api/v4/calls`, a JSON
 *   array; `direction` (inbound|outbound), `duration`, `source`, `phone` required; `call_status`
 *   1–7; a call is attached to the contact whose phone matches by the last 10 digits, and is
 *   not added when none does.
 * - Screen pop: https://www.amocrm.ru/developers/content/telephony/call_event and
 *   https://www.kommo.com/developers/content/telephony/call-notification — `POST /api/v2/events`,
 *   `{add: [{type: "phone_call", phone_number, users?}]}`.
 * - Auth: https://www.kommo.com/developers/content/oauth/long-lived-token — `Authorization: Bearer`.
 * - Errors: https://www.amocrm.com/developers/content/api/errors (400 with `validation-errors`,
 *   title/type/status/detail as application/problem+json); the 401 body is the one Kommo sends
 *   for a bad token (`{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,...}`).
 * - Limits: https://developers.kommo.com/docs/limitations — "not more than 7 requests per second".
 *   The page does not show the answer beyond; this stand-in answers 429, without Retry-After
 *   (a test injects one when it wants it).
 * Not shown by the pages, so chosen here: the calls answer's per-call `errors` entries (public
 * integrations read `_embedded.errors[].msg`) and the events answer (202 with `{}`, as Kommo's
 * API reference summarised at withone.ai/knowledge/kommo describes it).
 */
import { isObject, StandIn, type Received, type Reply } from './http';

export interface AmoOptions {
  token?: string;
  /** Contacts by phone as stored in the account; matched by their last 10 digits. */
  contacts?: Array<{ id: number; phone: string }>;
  perSecond?: number;
}

interface FieldError {
  code: string;
  path: string;
  detail: string;
}

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'application/problem+json' },
  body: { ...extra, title, type: `https://httpstatus.es/${status}`, status, detail },
});

const last10 = (phone: string): string => phone.replace(/\D/g, '').slice(-10);

export class AmoCrmStandIn extends StandIn {
  token: string;
  /** Calls attached to a card, as sent, with the entity they went to. */
  readonly calls: Array<Record<string, unknown> & { entity_id: number }> = [];
  /** Calls refused for want of a matching contact. */
  readonly unmatched: Array<Record<string, unknown>> = [];
  /** Screen pops received: each `add` item. */
  readonly pops: Array<Record<string, unknown>> = [];
  /** Requests refused by the rate limit. */
  rateLimited = 0;
  private readonly contacts: Array<{ id: number; phone: string }>;
  private readonly recent: number[] = [];
  private nextCall = 1;

  constructor(private readonly options: AmoOptions = {}) {
    super();
    this.token = options.token ?? 'amo-long-lived-token';
    this.contacts = options.contacts ?? [{ id: 21, phone: '+7 (912) 345-67-89' }];
  }

  /** Requests to the API (what the rate limit counts), by arrival time. */
  apiRequests(): Received[] {
    return this.requests((r) => r.path.startsWith('/api/'));
  }

  protected route(r: Received): Reply {
    if (this.overLimit()) {
      this.rateLimited += 1;
      return problem(429, 'Too Many Requests', 'Too many requests');
    }
    if (String(r.headers.authorization ?? '') !== `Bearer ${this.token}`) return problem(401, 'Unauthorized', 'Invalid user name or password');
    const path = r.path.replace(/\/$/, '');
    if (path === '/api/v4/calls' && r.method === 'POST') return this.addCalls(r.body);
    if (path === '/api/v2/events' && r.method === 'POST') return this.addEvents(r.body);
    return problem(404, 'Not Found', 'Not found');
  }

  private addCalls(body: unknown): Reply {
    if (!Array.isArray(body) || body.length === 0) return problem(400, 'Bad Request', 'Request validation failed', { 'validation-errors': [{ request_id: '0', errors: [{ code: 'NotBlank', path: '', detail: 'This value should not be blank.' }] }] });
    const invalid = body
      .map((call: unknown, i) => ({ request_id: String(i), errors: callErrors(call) }))
      .filter((e) => e.errors.length > 0);
    if (invalid.length) return problem(400, 'Bad Request', 'Request validation failed', { 'validation-errors': invalid });
    const added: unknown[] = [];
    const errors: unknown[] = [];
    (body as Array<Record<string, unknown>>).forEach((call, i) => {
      const requestId = String(call.request_id ?? i);
      const contact = this.contacts.find((c) => last10(c.phone) === last10(String(call.phone)) && last10(String(call.phone)).length === 10);
      if (!contact) {
        this.unmatched.push(call);
        errors.push({ request_id: requestId, msg: 'Entity not found', code: 'NotFound' });
        return;
      }
      const id = this.nextCall++;
      this.calls.push({ ...call, entity_id: contact.id });
      added.push({ id, entity_id: contact.id, entity_type: 'contacts', account_id: 28805383, request_id: requestId, _embedded: { entity: { id: contact.id } } });
    });
    return { status: 200, body: { _total_items: added.length, _embedded: { calls: added, errors } } };
  }

  private addEvents(body: unknown): Reply {
    const add = isObject(body) ? body.add : undefined;
    if (!Array.isArray(add) || add.length === 0) return problem(400, 'Bad Request', 'Request validation failed');
    for (const item of add) {
      if (!isObject(item) || item.type !== 'phone_call' || typeof item.phone_number !== 'string' || !item.phone_number) return problem(400, 'Bad Request', 'Request validation failed');
      if (item.users !== undefined && (!Array.isArray(item.users) || item.users.some((u) => !Number.isInteger(Number(u))))) return problem(400, 'Bad Request', 'Request validation failed');
    }
    this.pops.push(...(add as Array<Record<string, unknown>>));
    return { status: 202, body: {} };
  }

  private overLimit(): boolean {
    const now = Date.now();
    while (this.recent.length && now - this.recent[0] >= 1000) this.recent.shift();
    if (this.recent.length >= (this.options.perSecond ?? 7)) return true;
    this.recent.push(now);
    return false;
  }
}

function callErrors(call: unknown): FieldError[] {
  if (!isObject(call)) return [{ code: 'InvalidType', path: '', detail: 'This value should be of type object.' }];
  const errors: FieldError[] = [];
  const blank = (path: string) => errors.push({ code: 'NotBlank', path, detail: 'This value should not be blank.' });
  if (call.direction === undefined) blank('direction');
  else if (call.direction !== 'inbound' && call.direction !== 'outbound') errors.push({ code: 'NotSupportedChoice', path: 'direction', detail: 'The value you selected is not a valid choice.' });
  if (call.duration === undefined) blank('duration');
  else if (!Number.isInteger(call.duration) || (call.duration as number) < 0) errors.push({ code: 'InvalidType', path: 'duration', detail: 'This value should be of type int.' });
  if (typeof call.source !== 'string' || !call.source) blank('source');
  if (typeof call.phone !== 'string' || !call.phone) blank('phone');
  if (call.call_status !== undefined && ![1, 2, 3, 4, 5, 6, 7].includes(call.call_status as number)) errors.push({ code: 'NotSupportedChoice', path: 'call_status', detail: 'The value you selected is not a valid choice.' });
  for (const key of ['responsible_user_id', 'created_by', 'created_at']) {
    if (call[key] !== undefined && !Number.isInteger(call[key])) errors.push({ code: 'InvalidType', path: key, detail: 'This value should be of type int.' });
  }
  for (const key of ['uniq', 'link', 'call_result']) {
    if (call[key] !== undefined && typeof call[key] !== 'string') errors.push({ code: 'InvalidType', path: key, detail: 'This value should be of type string.' });
  }
  return errors;
}
