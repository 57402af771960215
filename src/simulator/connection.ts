/**
 * The set-up of one WebSocket connection (era-platform.md §2.3): `setup` to the capabilities it
 * will use and, on the user API, the in-band `login`. Both are answered in every mode; in strict
 * mode nothing else is served until they are done, and a method needs its capability.
 */
import type { Auth, Session } from './auth';
import { banMessage } from './ban';
import { badRequest, SimError } from './errors';
import type { FaultState } from './faults';
import type { LoginDomainField } from './types';

/** The capabilities the vendor's reference names. */
export const KNOWN_CAPABILITIES: readonly string[] = ['rest', 'subscr', 'ccs', 'callrecord', 'ivrapi', 'svcscript', 'dmsbatch', 'dmsquery', 'msg'];

/** What `connection_info` listed before the simulator knew `setup`; a lenient socket without one still gets it. */
const LEGACY_CAPABILITIES: readonly string[] = ['callrecord', 'ccs', 'ivrapi', 'rest', 'svcscript'];

/** The capability a method needs; a method not listed needs only the set-up itself. */
const METHOD_CAPABILITY: ReadonlyMap<string, string> = new Map([
  ['subscribe', 'subscr'],
  ['bye', 'ccs'],
  ['callrecord_get_path', 'callrecord'],
]);

export type ApiKind = 'user' | 'token';

export interface CapabilityResult {
  key: string;
  result: 'ok' | 'error';
  errormsg?: string;
}

export interface ConnectionDeps {
  auth: Auth;
  faults: FaultState;
  strict: boolean;
  knowsSetup: boolean;
  loginDomainField: LoginDomainField;
}

type Params = Record<string, unknown>;

export class ConnectionSetup {
  /** The capabilities the last accepted `setup` asked for, in order; undefined before one. */
  private requested: string[] | undefined;
  /** The platform's answer per capability, known once the connection is set up and authorised. */
  private results: CapabilityResult[] | undefined;

  constructor(
    private readonly deps: ConnectionDeps,
    readonly kind: ApiKind,
    /** The user session: from the upgrade (lenient `/ws`) or from the in-band login. */
    public session: Session | undefined,
    private readonly address: string,
  ) {}

  /** The reply's fields, or undefined to leave the request unanswered (the `setupHang` fault). */
  setup(params: Params): Params | undefined {
    const { faults } = this.deps;
    if (!this.deps.knowsSetup) throw new SimError(400, 'unknown_method', 'unknown method setup');
    if (faults.setupHang) return undefined;
    const keys = capabilityKeys(params.capabilities);
    const refused = faults.takeSetupError();
    if (refused !== undefined) throw new SimError(500, 'setup_failed', refused);
    this.requested = keys;
    if (!this.authorised) {
      this.results = undefined;
      // The vendor: before authorisation every API answers "ok"; login_result brings the real list.
      return { capabilities: keys.map((key) => ({ key, result: 'ok' })) };
    }
    this.results = this.evaluate(keys);
    return { capabilities: this.results };
  }

  login(params: Params): Params {
    const { auth, faults } = this.deps;
    if (this.kind === 'token') throw badRequest('login is not used on the token API');
    const banned = auth.banSecondsLeft(this.address);
    if (banned !== undefined) throw new SimError(403, 'banned', banMessage(banned));
    const refused = faults.takeRefuseWsLogin();
    if (refused !== undefined) throw new SimError(401, 'login_refused', refused);
    let session: Session;
    if (params.rsessionid !== undefined) {
      if (faults.takeRefuseRsessionid()) throw new SimError(401, 'login_refused', 'rsessionid refused (injected fault)');
      session = auth.joinSession(params.rsessionid, this.address);
    } else {
      session = auth.openSession({ domain: params[this.deps.loginDomainField], login: params.login, pwd: params.pwd }, this.address);
    }
    this.session = session;
    if (this.requested !== undefined) this.results = this.evaluate(this.requested);
    return { td: session.domain, login: session.login, register: 'ok', sessionid: session.id, capabilities: this.results ?? [] };
  }

  /** Throw the refusal a strict platform answers `method` with on this connection now. */
  check(method: string): void {
    if (!this.deps.strict) return;
    const missing: string[] = [];
    if (this.deps.knowsSetup && this.requested === undefined) missing.push('setup');
    if (!this.authorised) missing.push('login');
    if (missing.length > 0) throw new SimError(403, 'not_set_up', `${method}: the connection is not set up yet; send ${missing.join(' and ')} first`);
    const needed = METHOD_CAPABILITY.get(method);
    if (needed !== undefined && !this.capabilities().includes(needed)) {
      throw new SimError(403, 'capability_not_set_up', `capability ${needed} is not set up on this connection`);
    }
  }

  /** The capabilities granted, for `connection_info`. */
  capabilities(): readonly string[] {
    if (this.results !== undefined) return this.results.filter((r) => r.result === 'ok').map((r) => r.key);
    // A build without `setup` grants everything; a lenient socket that sent none gets the old list.
    return this.deps.knowsSetup ? LEGACY_CAPABILITIES : KNOWN_CAPABILITIES;
  }

  private get authorised(): boolean {
    return this.kind === 'token' || this.session !== undefined;
  }

  private evaluate(keys: readonly string[]): CapabilityResult[] {
    return keys.map((key) => {
      const errormsg = this.deps.faults.capabilityRefusal(key) ?? (KNOWN_CAPABILITIES.includes(key) ? undefined : `unknown capability ${key}`);
      return errormsg === undefined ? { key, result: 'ok' } : { key, result: 'error', errormsg };
    });
  }
}

/** The names of a setup's capabilities, given as names or as `{key}` objects. */
function capabilityKeys(value: unknown): string[] {
  if (!Array.isArray(value)) throw badRequest('setup needs a "capabilities" array');
  return value.map((item: unknown) => {
    const key = typeof item === 'object' && item !== null ? (item as { key?: unknown }).key : item;
    if (typeof key !== 'string' || key === '') throw badRequest('each capability must be a name or a {"key": name} object');
    return key;
  });
}
