/**
 * A Bitrix24 portal and its OAuth server, written from the vendor's reference (the public
 * repository bitrix24/b24restdocs, read at commit 5988ed13):
 * - api-reference/telephony/telephony-external-call-register.md, -finish.md, -attach-record.md
 * - api-reference/telephony/events/on-external-call-start.md, api-reference/common/events/on-app-install.md,
 *   _includes/auth-params-in-events.md, api-reference/events/index.md (events are form-encoded POSTs),
 *   api-reference/events/event-bind.md
 * - settings/oauth/auto-renewal.md (GET https://oauth.bitrix.info/oauth/token/), settings/oauth/error-codes.md
 * - settings/how-to-call-rest-api/general-principles.md (`/rest/<method>`, `auth` parameter),
 *   _includes/system-errors.md (401 expired_token, 401 NO_AUTH_FOUND, 503 QUERY_LIMIT_EXCEEDED),
 *   settings/performance/limits.md (leaky bucket: 50 requests, 2 a second drain, on other plans).
 * Where the reference shows no shape, the comment says what was chosen.
 */
import { randomBytes } from 'node:crypto';
import { isObject, postForm, StandIn, type Json, type JsonObject, type Received, type Reply } from './http';

export interface Bitrix24User {
  id: number;
  innerPhone: string;
}

export interface Bitrix24Options {
  clientId?: string;
  clientSecret?: string;
  users?: Bitrix24User[];
  /** CRM contacts, matched by the number exactly as stored (the reason to send E.164). */
  contacts?: Array<{ id: number; phone: string }>;
  /** Leaky bucket of limits.md: blocked above `burst`, drained by `perSecond`. */
  burst?: number;
  perSecond?: number;
  /** The OAuth server answers a refresh this much later (to let requests pile up behind one). */
  oauthDelayMs?: number;
  /** Expired-token answers wait until this many requests wait for one (3 s at most), so that a
   * test knows they all met the expired token, however the machine schedules them. */
  expiredTogether?: number;
  /** The n-th request that meets an expired token is answered this many ms later (a slow answer
   * that comes back after the token was renewed). */
  expiredAnswerDelaysMs?: number[];
}

export interface Registration {
  CALL_ID: string;
  params: Record<string, unknown>;
  userId: number;
  entity: { type: string; id: number };
  viaClickToCall: boolean;
  at: number;
}

export interface Finished {
  CALL_ID: string;
  params: Record<string, unknown>;
  registration: Registration;
}

export interface Attachment {
  CALL_ID: string;
  FILENAME?: string;
  content?: Buffer;
  RECORD_URL?: string;
}

// The status codes finish accepts (telephony-external-call-finish.md, STATUS_CODE).
const STATUS_CODES = new Set(['200', '304', '603', '603-S', '403', '404', '486', '484', '503', '480', '402', '423', 'OTHER']);
// Methods that "work only in the context of an application" (not through an inbound webhook).
const APPLICATION_ONLY = new Set(['telephony.externalcall.register', 'telephony.externalcall.finish', 'event.bind']);
const KNOWN_EVENTS = new Set(['ONEXTERNALCALLSTART', 'ONEXTERNALCALLBACKSTART', 'ONAPPINSTALL', 'ONAPPUNINSTALL']);
const ISO_8601_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;

const token = (): string => randomBytes(16).toString('hex');

function bitrixError(status: number, error: string, description: string): Reply {
  return { status, body: { error, error_description: description } };
}

const core = (description: string): Reply => bitrixError(400, 'ERROR_CORE', description);

export class Bitrix24StandIn extends StandIn {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly memberId = token();
  accessToken = token();
  refreshToken = token();
  applicationToken = token();
  /** Token requests the OAuth server answered (any outcome). */
  refreshes = 0;
  readonly registered = new Map<string, Registration>();
  readonly finished = new Map<string, Finished>();
  readonly attachments: Attachment[] = [];
  readonly handlers = new Map<string, string[]>();
  private readonly expired = new Set<string>();
  private readonly users: Bitrix24User[];
  private readonly contacts: Array<{ id: number; phone: string }>;
  private nextEntity = 1000;
  private bucket = 0;
  private bucketAt = Date.now();

  constructor(private readonly options: Bitrix24Options = {}) {
    super();
    this.clientId = options.clientId ?? 'local.0123456789abcd.12345678';
    this.clientSecret = options.clientSecret ?? 'client-secret-' + token();
    this.users = options.users ?? [
      { id: 1, innerPhone: '101' },
      { id: 2, innerPhone: '102' },
      { id: 3, innerPhone: '103' },
    ];
    this.contacts = options.contacts ?? [{ id: 797, phone: '+79123456789' }];
  }

  get domain(): string {
    return new URL(this.url).host;
  }

  /** The access token lives about an hour; this ends it now (the next call gets expired_token). */
  expireAccessToken(): void {
    this.expired.add(this.accessToken);
  }

  /** As if the refresh token were lost or 180 days old: the next refresh gets invalid_grant. */
  revokeRefreshToken(): void {
    this.refreshToken = token();
  }

  /** The auth block the portal puts in events (auth-params-in-events.md). */
  private eventAuth(): JsonObject {
    return {
      access_token: this.accessToken,
      expires_in: '3600',
      scope: 'telephony,crm',
      domain: this.domain,
      server_endpoint: `${this.url}/oauth/rest/`,
      status: 'L',
      client_endpoint: `${this.url}/rest/`,
      member_id: this.memberId,
      refresh_token: this.refreshToken,
      application_token: this.applicationToken,
    };
  }

  /** ONAPPINSTALL, POSTed to the application's install handler (on-app-install.md). */
  install(handlerUrl: string): Promise<{ status: number; text: string }> {
    return postForm(handlerUrl, {
      event: 'ONAPPINSTALL',
      data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' },
      ts: String(Math.floor(Date.now() / 1000)),
      auth: this.eventAuth(),
    });
  }

  /**
   * A user clicks a number in the CRM: the portal registers the call itself (without
   * EXTERNAL_CALL_ID, register.md) and POSTs ONEXTERNALCALLSTART to every bound handler.
   */
  async clickToCall(opts: { userId: number; phone: string; applicationToken?: string }): Promise<{ callId: string; answers: Array<{ status: number; text: string }> }> {
    const user = this.users.find((u) => u.id === opts.userId);
    if (!user) throw new Error(`no user ${opts.userId}`);
    const reg = this.register({ USER_ID: opts.userId, PHONE_NUMBER: opts.phone, TYPE: 1 }, user, true);
    const auth = { ...this.eventAuth(), application_token: opts.applicationToken ?? this.applicationToken };
    const answers = [];
    for (const handler of this.handlers.get('ONEXTERNALCALLSTART') ?? []) {
      answers.push(
        await postForm(handler, {
          event: 'ONEXTERNALCALLSTART',
          event_handler_id: '1055',
          data: {
            PHONE_NUMBER: opts.phone,
            PHONE_NUMBER_INTERNATIONAL: opts.phone,
            EXTENSION: '',
            USER_ID: String(opts.userId),
            CALL_LIST_ID: '0',
            LINE_NUMBER: '',
            IS_MOBILE: '0',
            CALL_ID: reg.CALL_ID,
            CRM_ENTITY_TYPE: reg.entity.type,
            CRM_ENTITY_ID: String(reg.entity.id),
          },
          ts: String(Math.floor(Date.now() / 1000)),
          auth,
        }),
      );
    }
    return { callId: reg.CALL_ID, answers };
  }

  /** REST method calls, in order, as `method` (lower case) and the parameters sent. */
  calls(method?: string): Array<{ method: string; params: Record<string, unknown>; status?: number }> {
    return this.received
      .filter((r) => r.path.startsWith('/rest/'))
      .map((r) => ({ method: methodOf(r.path), params: paramsOf(r), status: r.status }))
      .filter((c) => !method || c.method === method.toLowerCase());
  }

  protected async route(r: Received): Promise<Reply> {
    if (r.path === '/oauth/token/' || r.path === '/oauth/token') return this.oauth(r);
    if (!r.path.startsWith('/rest/')) return { status: 404, body: 'not found' };
    const segments = r.path.slice('/rest/'.length).split('/');
    const method = methodOf(r.path);
    // An inbound webhook: /rest/<user>/<code>/<method>. Application-only methods refuse it.
    if (segments.length === 3) {
      // register.md lists HTTP 400 and 403 for its errors; 403 is the one for a refused authorisation.
      if (APPLICATION_ONLY.has(method)) return bitrixError(403, 'WRONG_AUTH_TYPE', 'Current authorization type is denied for this method Application context required');
      return bitrixError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    }
    const params = paramsOf(r);
    const auth = params.auth;
    if (typeof auth !== 'string' || !auth) return bitrixError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    if (this.expired.has(auth)) {
      await this.expiredAnswerWait();
      return bitrixError(401, 'expired_token', 'The access token provided has expired.');
    }
    if (auth !== this.accessToken) return bitrixError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    if (this.overLimit()) return bitrixError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    const result = this.method(method, params);
    if ('status' in result) return result;
    return { status: 200, body: { result: result.result, time: this.time() } };
  }

  /** Expired-token answers held back (expiredTogether, expiredAnswerDelaysMs), each with what lets it go; stop() lets them all go. */
  private readonly held = new Set<() => void>();
  /** Those held by expiredTogether, in arrival order. */
  private heldTogether: Array<() => void> = [];
  private expiredAnswers = 0;

  override async stop(): Promise<void> {
    for (const go of [...this.held]) go();
    await super.stop();
  }

  /** Resolves after `ms`, or sooner when its release (handed to `register`) is called. */
  private hold(ms: number, register: (go: () => void) => void = () => undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const go = (): void => {
        clearTimeout(timer);
        this.held.delete(go);
        // One that waited long enough no longer counts towards the next group.
        this.heldTogether = this.heldTogether.filter((waiting) => waiting !== go);
        resolve();
      };
      const timer = setTimeout(go, ms);
      this.held.add(go);
      register(go);
    });
  }

  private async expiredAnswerWait(): Promise<void> {
    const delay = this.options.expiredAnswerDelaysMs?.[this.expiredAnswers++] ?? 0;
    if (delay > 0) await this.hold(delay);
    const together = this.options.expiredTogether ?? 0;
    if (together <= 1) return;
    await this.hold(3000, (go) => {
      this.heldTogether.push(go);
      if (this.heldTogether.length >= together) for (const waiting of [...this.heldTogether]) waiting();
    });
  }

  private method(method: string, p: Record<string, unknown>): Reply | { result: Json } {
    switch (method) {
      case 'telephony.externalcall.register':
        return this.registerMethod(p);
      case 'telephony.externalcall.finish':
        return this.finishMethod(p);
      case 'telephony.externalcall.attachrecord':
        return this.attachMethod(p);
      case 'event.bind': {
        const event = String(p.event ?? '').toUpperCase();
        if (!KNOWN_EVENTS.has(event)) return bitrixError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
        if (typeof p.handler !== 'string' || !/^https?:\/\//.test(p.handler)) return core('Handler not found');
        const list = this.handlers.get(event) ?? [];
        if (!list.includes(p.handler)) list.push(p.handler);
        this.handlers.set(event, list);
        return { result: true };
      }
      default:
        return bitrixError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    }
  }

  private userOf(p: Record<string, unknown>): Bitrix24User | Reply {
    if ((p.USER_ID === undefined || p.USER_ID === '') && (p.USER_PHONE_INNER === undefined || p.USER_PHONE_INNER === '')) {
      return core('USER_ID or USER_PHONE_INNER should be set');
    }
    const user = this.users.find((u) => (p.USER_ID !== undefined && p.USER_ID !== '' ? String(u.id) === String(p.USER_ID) : u.innerPhone === String(p.USER_PHONE_INNER)));
    return user ?? core('User is not found or is not active');
  }

  private registerMethod(p: Record<string, unknown>): Reply | { result: Json } {
    const user = this.userOf(p);
    if ('status' in user) return user;
    if (![1, 2, 3, 4, 5].includes(Number(p.TYPE))) return core('Unknown TYPE');
    if (p.CALL_START_DATE !== undefined && !ISO_8601_WITH_ZONE.test(String(p.CALL_START_DATE))) return core('CALL_START_DATE should be in the ISO-8601 format');
    if (typeof p.PHONE_NUMBER !== 'string' || !/^\+?\d{3,20}$/.test(p.PHONE_NUMBER)) return core('Unsupported phone number format');
    // Re-registering within 30 minutes may give back the existing CALL_ID (register.md).
    const same = [...this.registered.values()].find(
      (reg) =>
        Date.now() - reg.at < 30 * 60_000 &&
        ['PHONE_NUMBER', 'TYPE', 'LINE_NUMBER', 'EXTERNAL_CALL_ID'].every((k) => String(reg.params[k] ?? '') === String(p[k] ?? '')) &&
        reg.userId === user.id,
    );
    const reg = same ?? this.register(p, user, false);
    return {
      result: {
        CALL_ID: reg.CALL_ID,
        CRM_CREATED_LEAD: reg.entity.type === 'LEAD' ? reg.entity.id : null,
        CRM_CREATED_ENTITIES: reg.entity.type === 'LEAD' ? [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: reg.entity.id }] : [],
        CRM_ENTITY_TYPE: reg.entity.type,
        CRM_ENTITY_ID: reg.entity.id,
      },
    };
  }

  private register(p: Record<string, unknown>, user: Bitrix24User, viaClickToCall: boolean): Registration {
    const contact = this.contacts.find((c) => c.phone === String(p.PHONE_NUMBER));
    const entity = contact ? { type: 'CONTACT', id: contact.id } : String(p.CRM_CREATE) === '1' ? { type: 'LEAD', id: this.nextEntity++ } : { type: '', id: 0 };
    const reg: Registration = {
      CALL_ID: `externalCall.${token()}.${Math.floor(Date.now() / 1000)}`,
      params: { ...p },
      userId: user.id,
      entity,
      viaClickToCall,
      at: Date.now(),
    };
    this.registered.set(reg.CALL_ID, reg);
    return reg;
  }

  private finishMethod(p: Record<string, unknown>): Reply | { result: Json } {
    if (typeof p.CALL_ID !== 'string') return bitrixError(400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
    const user = this.userOf(p);
    if ('status' in user) return user;
    const reg = this.registered.get(p.CALL_ID);
    if (!reg) return core('Call is not found (call should be registered prior to finishing)');
    if (p.DURATION !== undefined && !/^\d+$/.test(String(p.DURATION))) return bitrixError(400, 'INVALID_ARGUMENT', 'DURATION must be an integer');
    const duration = Number(p.DURATION ?? 0);
    const status = p.STATUS_CODE === undefined ? (duration > 0 ? '200' : '304') : String(p.STATUS_CODE);
    if (!STATUS_CODES.has(status)) return bitrixError(400, 'INVALID_ARGUMENT', `Unknown STATUS_CODE ${status}`);
    this.registered.delete(p.CALL_ID);
    this.finished.set(p.CALL_ID, { CALL_ID: p.CALL_ID, params: { ...p }, registration: reg });
    return {
      result: {
        CALL_ID: p.CALL_ID,
        EXTERNAL_CALL_ID: (reg.params.EXTERNAL_CALL_ID as string | undefined) ?? null,
        PORTAL_USER_ID: user.id,
        PHONE_NUMBER: String(reg.params.PHONE_NUMBER),
        PORTAL_NUMBER: String(reg.params.LINE_NUMBER ?? ''),
        INCOMING: String(reg.params.TYPE),
        CALL_DURATION: duration,
        CALL_STATUS: status === '200' ? 1 : 0,
        CALL_FAILED_CODE: status,
        CALL_FAILED_REASON: String(p.FAILED_REASON ?? ''),
        CRM_ENTITY_TYPE: reg.entity.type,
        CRM_ENTITY_ID: reg.entity.id,
        ID: this.finished.size,
      },
    };
  }

  private attachMethod(p: Record<string, unknown>): Reply | { result: Json } {
    const callId = String(p.CALL_ID ?? '');
    if (!this.finished.has(callId)) return core('Call is not found in the statistic table. It looks like it is not finished yet.');
    if (p.RECORD_URL === undefined && p.FILENAME === undefined) return core('Required parameters are not set. Request should contain either URL or FILENAME parameter');
    if (p.RECORD_URL !== undefined) {
      // The reference says the portal downloads the link; nothing here downloads: what a
      // recipe sends is recorded, and a recipe of ours must never depend on it.
      this.attachments.push({ CALL_ID: callId, RECORD_URL: String(p.RECORD_URL) });
      return { result: { FILE_ID: this.attachments.length } };
    }
    const filename = String(p.FILENAME);
    if (!filename) return core('File name is empty');
    if (!/\.(wav|mp3)$/i.test(filename)) return core('Wrong file extension. Only wav and mp3 are allowed');
    if (p.FILE_CONTENT === undefined) return { result: { uploadUrl: `${this.url}/rest/upload.json`, fieldName: 'file' } };
    const content = String(p.FILE_CONTENT);
    if (!content) return core('File content is empty.');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(content) || content.length % 4 !== 0) return core('File content is not properly encoded. Base64 encoding is expected.');
    this.attachments.push({ CALL_ID: callId, FILENAME: filename, content: Buffer.from(content, 'base64') });
    return { result: { FILE_ID: 9000 + this.attachments.length } };
  }

  /** GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token (auto-renewal.md). */
  private async oauth(r: Received): Promise<Reply> {
    this.refreshes += 1;
    if (this.options.oauthDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.oauthDelayMs));
    const q = r.method === 'GET' ? r.query : isObject(r.body) ? (r.body as Record<string, string>) : {};
    // The reference names these errors but shows no status; RFC 6749 §5.2 uses 400 and 401.
    if (q.grant_type !== 'refresh_token' || !q.refresh_token) return bitrixError(400, 'invalid_request', 'Invalid request');
    if (q.client_id !== this.clientId || q.client_secret !== this.clientSecret) return bitrixError(401, 'invalid_client', 'Invalid client');
    if (q.refresh_token !== this.refreshToken) return bitrixError(400, 'invalid_grant', 'Invalid grant');
    this.expired.add(this.accessToken);
    this.accessToken = token();
    this.refreshToken = token();
    return {
      status: 200,
      body: {
        access_token: this.accessToken,
        client_endpoint: `${this.url}/rest/`,
        domain: 'oauth.bitrix.info',
        expires: Math.floor(Date.now() / 1000) + 3600,
        expires_in: 3600,
        member_id: this.memberId,
        refresh_token: this.refreshToken,
        scope: 'telephony,crm',
        server_endpoint: `${this.url}/oauth/rest/`,
        status: 'L',
        user_id: 1,
      },
    };
  }

  private overLimit(): boolean {
    const now = Date.now();
    this.bucket = Math.max(0, this.bucket - ((now - this.bucketAt) / 1000) * (this.options.perSecond ?? 2));
    this.bucketAt = now;
    if (this.bucket + 1 > (this.options.burst ?? 50)) return true;
    this.bucket += 1;
    return false;
  }

  private time(): JsonObject {
    const now = Date.now() / 1000;
    return { start: now, finish: now, duration: 0, processing: 0, date_start: new Date().toISOString(), date_finish: new Date().toISOString(), operating: 0 };
  }
}

/** `/rest/telephony.externalCall.register.json` → `telephony.externalcall.register` (names are case-insensitive). */
function methodOf(path: string): string {
  const last = path.split('/').pop() ?? '';
  return last.replace(/\.(json|xml)$/i, '').toLowerCase();
}

/** A method's parameters: the query, then the JSON or form body over it. */
function paramsOf(r: Received): Record<string, unknown> {
  return { ...r.query, ...(isObject(r.body) ? r.body : {}) };
}
