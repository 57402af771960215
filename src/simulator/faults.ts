/**
 * The faults a test can switch on. Counted faults are used up one request at a time.
 */
import { badRequest } from './errors';
import type { BanAnswerFault, CountedRefusal, Faults, RestStatusFault, WebhookRefusal } from './types';

type Counted = { count: number };
type CountedName = 'restStatus' | 'restHang' | 'restDelay' | 'subscribeError' | 'recordingNotReady' | 'setupError' | 'refuseWsLogin' | 'refuseRsessionid'
  | 'webhookJunk' | 'webhookCreateError' | 'webhookRenewError';

const KEYS: ReadonlyArray<keyof Faults> = [
  'restStatus',
  'restHang',
  'restDelay',
  'noPong',
  'hangUpgrade',
  'subscribeError',
  'recordingNotReady',
  'dropEvents',
  'refuseCapabilities',
  'setupError',
  'setupHang',
  'refuseWsLogin',
  'refuseRsessionid',
  'webhookDrop',
  'webhookDuplicate',
  'webhookDelay',
  'webhookJunk',
  'webhookCreateError',
  'webhookRenewError',
  'banAnswer',
];

/** The longest a webhook delivery can be held back. */
const MAX_WEBHOOK_DELAY_MS = 60_000;

export class FaultState {
  private current: Faults = {};

  get noPong(): boolean {
    return this.current.noPong === true;
  }

  get hangUpgrade(): boolean {
    return this.current.hangUpgrade === true;
  }

  get dropEvents(): boolean {
    return this.current.dropEvents === true;
  }

  get setupHang(): boolean {
    return this.current.setupHang === true;
  }

  get webhookDrop(): number | undefined {
    return this.current.webhookDrop;
  }

  get webhookDuplicate(): number | undefined {
    return this.current.webhookDuplicate;
  }

  get webhookDelay(): { share: number; ms: number } | undefined {
    return this.current.webhookDelay;
  }

  get banAnswer(): BanAnswerFault | undefined {
    return this.current.banAnswer;
  }

  /** The errormsg a capability is refused with, or undefined when it is granted. */
  capabilityRefusal(key: string): string | undefined {
    const refusals = this.current.refuseCapabilities;
    // Own keys only: a capability named like an Object method must not find the method.
    return refusals !== undefined && Object.hasOwn(refusals, key) ? refusals[key] : undefined;
  }

  snapshot(): Faults {
    return structuredClone(this.current);
  }

  /**
   * Merge faults into the current set; a key set to null or false switches that fault off.
   * The input is checked whole before anything changes, so a bad request changes nothing.
   */
  merge(input: unknown): void {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badRequest('faults must be an object');
    const entries = Object.entries(input);
    const next: Faults = { ...this.current };
    for (const [key, value] of entries) {
      if (!(KEYS as readonly string[]).includes(key)) throw badRequest(`unknown fault "${key}"; known: ${KEYS.join(', ')}`);
      const name = key as keyof Faults;
      if (value === null || value === false) {
        delete next[name];
        continue;
      }
      switch (name) {
        case 'noPong':
        case 'hangUpgrade':
        case 'dropEvents':
        case 'setupHang':
          if (value !== true) throw badRequest(`${name} must be a boolean`);
          next[name] = true;
          break;
        case 'restStatus':
          next.restStatus = parseRestStatus(value);
          break;
        case 'restHang':
        case 'recordingNotReady':
        case 'refuseRsessionid':
        case 'webhookJunk':
          next[name] = { count: parseCount(name, value) };
          break;
        case 'webhookDrop':
        case 'webhookDuplicate':
          next[name] = parseShare(name, value);
          break;
        case 'webhookDelay': {
          const { share, ms } = (typeof value === 'object' ? value : {}) as { share?: unknown; ms?: unknown };
          if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_WEBHOOK_DELAY_MS) {
            throw badRequest(`webhookDelay.ms must be an integer from 1 to ${MAX_WEBHOOK_DELAY_MS}`);
          }
          next.webhookDelay = { share: parseShare('webhookDelay.share', share), ms };
          break;
        }
        case 'webhookCreateError':
        case 'webhookRenewError':
          next[name] = parseWebhookRefusal(name, value);
          break;
        case 'restDelay': {
          const { ms } = value as { ms?: unknown };
          if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 600_000) throw badRequest('restDelay.ms must be a whole number of milliseconds up to 600000');
          next.restDelay = { count: parseCount(name, value), ms };
          break;
        }
        case 'setupError':
        case 'refuseWsLogin':
          next[name] = parseRefusal(name, value);
          break;
        case 'refuseCapabilities':
          next.refuseCapabilities = parseCapabilityRefusals(value);
          break;
        case 'banAnswer':
          next.banAnswer = parseBanAnswer(value);
          break;
        case 'subscribeError': {
          const count = parseCount(name, value);
          const { code, message } = value as { code?: unknown; message?: unknown };
          if (code !== undefined && typeof code !== 'string' && typeof code !== 'number') throw badRequest('subscribeError.code must be a string or number');
          if (message !== undefined && typeof message !== 'string') throw badRequest('subscribeError.message must be a string');
          next.subscribeError = { count, ...(code !== undefined && { code }), ...(message !== undefined && { message }) };
          break;
        }
      }
    }
    this.current = next;
  }

  clear(): void {
    this.current = {};
  }

  takeRestStatus(): RestStatusFault | undefined {
    const fault = this.current.restStatus;
    return fault && this.use('restStatus', fault) ? fault : undefined;
  }

  takeRestHang(): boolean {
    const fault = this.current.restHang;
    return fault !== undefined && this.use('restHang', fault);
  }

  /** How long to hold the next REST answer back, or 0. */
  takeRestDelay(): number {
    const fault = this.current.restDelay;
    return fault !== undefined && this.use('restDelay', fault) ? fault.ms : 0;
  }

  takeSubscribeError(): { code: string | number; message: string } | undefined {
    const fault = this.current.subscribeError;
    if (!fault || !this.use('subscribeError', fault)) return undefined;
    return { code: fault.code ?? 'subscribe_failed', message: fault.message ?? 'subscription refused (injected fault)' };
  }

  takeRecordingNotReady(): boolean {
    const fault = this.current.recordingNotReady;
    return fault !== undefined && this.use('recordingNotReady', fault);
  }

  /** The errormsg of a refused setup, or undefined when this one goes through. */
  takeSetupError(): string | undefined {
    return this.takeRefusal('setupError', 'setup refused (injected fault)');
  }

  /** The errormsg of a refused WebSocket login, or undefined when this one goes through. */
  takeRefuseWsLogin(): string | undefined {
    return this.takeRefusal('refuseWsLogin', 'login refused (injected fault)');
  }

  /** True when this webhook delivery is to carry a junk body. */
  takeWebhookJunk(): boolean {
    const fault = this.current.webhookJunk;
    return fault !== undefined && this.use('webhookJunk', fault);
  }

  /** How this webhook creation is refused, or undefined when it goes through. */
  takeWebhookCreateError(): { status: number; errormsg: string } | undefined {
    return this.takeWebhookRefusal('webhookCreateError', 'webhook creation refused (injected fault)');
  }

  /** How this webhook renewal is refused, or undefined when it goes through. */
  takeWebhookRenewError(): { status: number; errormsg: string } | undefined {
    return this.takeWebhookRefusal('webhookRenewError', 'webhook renewal refused (injected fault)');
  }

  private takeWebhookRefusal(name: 'webhookCreateError' | 'webhookRenewError', fallback: string): { status: number; errormsg: string } | undefined {
    const fault = this.current[name];
    if (!fault || !this.use(name, fault)) return undefined;
    return { status: fault.status ?? 403, errormsg: fault.errormsg ?? fallback };
  }

  takeRefuseRsessionid(): boolean {
    const fault = this.current.refuseRsessionid;
    return fault !== undefined && this.use('refuseRsessionid', fault);
  }

  private takeRefusal(name: 'setupError' | 'refuseWsLogin', fallback: string): string | undefined {
    const fault = this.current[name];
    if (!fault || !this.use(name, fault)) return undefined;
    return fault.errormsg ?? fallback;
  }

  /** Spend one use of a counted fault; the fault disappears with its last use. */
  private use(name: CountedName, fault: Counted): boolean {
    if (fault.count <= 0) return false;
    fault.count -= 1;
    if (fault.count === 0) delete this.current[name];
    return true;
  }
}

function parseCount(name: string, value: unknown): number {
  const count = (value as { count?: unknown }).count;
  if (typeof value !== 'object' || typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw badRequest(`${name}.count must be a positive integer`);
  }
  return count;
}

function parseRefusal(name: string, value: unknown): CountedRefusal {
  const count = parseCount(name, value);
  const { errormsg } = value as { errormsg?: unknown };
  if (errormsg !== undefined && typeof errormsg !== 'string') throw badRequest(`${name}.errormsg must be a string`);
  return { count, ...(errormsg !== undefined && { errormsg }) };
}

function parseShare(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) throw badRequest(`${name} must be a share above 0 and at most 1, e.g. 0.2`);
  return value;
}

function parseWebhookRefusal(name: string, value: unknown): WebhookRefusal {
  const { count, errormsg } = parseRefusal(name, value);
  const { status } = value as { status?: unknown };
  if (status !== undefined && (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)) {
    throw badRequest(`${name}.status must be an HTTP error status (400-599)`);
  }
  return { count, ...(errormsg !== undefined && { errormsg }), ...(status !== undefined && { status }) };
}

function parseBanAnswer(value: unknown): BanAnswerFault {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('banAnswer must be an object: {rest?, upgrade?}');
  const { rest, upgrade, ...other } = value as { rest?: unknown; upgrade?: unknown };
  const extra = Object.keys(other)[0];
  if (extra !== undefined) throw badRequest(`banAnswer has no field "${extra}"; known: rest, upgrade`);
  if (rest === undefined && upgrade === undefined) throw badRequest('banAnswer needs "rest" or "upgrade"');
  if (rest !== undefined && rest !== 403 && rest !== 429) throw badRequest('banAnswer.rest must be 403 or 429');
  if (upgrade !== undefined && upgrade !== 403 && upgrade !== 429 && upgrade !== 'open') throw badRequest('banAnswer.upgrade must be 403, 429 or "open"');
  return { ...(rest !== undefined && { rest }), ...(upgrade !== undefined && { upgrade }) };
}

function parseCapabilityRefusals(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('refuseCapabilities must be an object: capability → errormsg');
  const entries = Object.entries(value);
  for (const [key, errormsg] of entries) {
    if (typeof errormsg !== 'string' || errormsg === '') throw badRequest(`refuseCapabilities.${key} must be a non-empty errormsg`);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseRestStatus(value: unknown): RestStatusFault {
  const count = parseCount('restStatus', value);
  const { status, body, contentType } = value as { status?: unknown; body?: unknown; contentType?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw badRequest('restStatus.status must be an HTTP status');
  if (contentType !== undefined && typeof contentType !== 'string') throw badRequest('restStatus.contentType must be a string');
  return { status, count, ...(body !== undefined && { body }), ...(contentType !== undefined && { contentType }) };
}
