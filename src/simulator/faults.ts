/**
 * The faults a test can switch on. Counted faults are used up one request at a time.
 */
import { badRequest } from './errors';
import type { Faults, RestStatusFault } from './types';

type Counted = { count: number };

const KEYS: ReadonlyArray<keyof Faults> = ['restStatus', 'restHang', 'noPong', 'hangUpgrade', 'subscribeError', 'recordingNotReady', 'dropEvents'];

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
          if (value !== true) throw badRequest(`${name} must be a boolean`);
          next[name] = true;
          break;
        case 'restStatus':
          next.restStatus = parseRestStatus(value);
          break;
        case 'restHang':
        case 'recordingNotReady':
          next[name] = { count: parseCount(name, value) };
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

  takeSubscribeError(): { code: string | number; message: string } | undefined {
    const fault = this.current.subscribeError;
    if (!fault || !this.use('subscribeError', fault)) return undefined;
    return { code: fault.code ?? 'subscribe_failed', message: fault.message ?? 'subscription refused (injected fault)' };
  }

  takeRecordingNotReady(): boolean {
    const fault = this.current.recordingNotReady;
    return fault !== undefined && this.use('recordingNotReady', fault);
  }

  /** Spend one use of a counted fault; the fault disappears with its last use. */
  private use(name: 'restStatus' | 'restHang' | 'subscribeError' | 'recordingNotReady', fault: Counted): boolean {
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

function parseRestStatus(value: unknown): RestStatusFault {
  const count = parseCount('restStatus', value);
  const { status, body, contentType } = value as { status?: unknown; body?: unknown; contentType?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw badRequest('restStatus.status must be an HTTP status');
  if (contentType !== undefined && typeof contentType !== 'string') throw badRequest('restStatus.contentType must be a string');
  return { status, count, ...(body !== undefined && { body }), ...(contentType !== undefined && { contentType }) };
}
