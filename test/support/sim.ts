import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';

export { startSimulator, type Simulator };

/** The simulator's /_sim/ control API, as tests use it. */
export class SimControl {
  constructor(readonly sim: Simulator) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.sim.url}/_sim/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`/_sim/${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  startCall(body: Record<string, unknown> = {}): Promise<SimCall> {
    return this.call<SimCall>('POST', 'calls', { from: '+79990001122', to: '101', ...body });
  }

  answer(id: string): Promise<unknown> {
    return this.call('POST', `calls/${encodeURIComponent(id)}/answer`);
  }

  hangup(id: string, reason?: string): Promise<unknown> {
    return this.call('POST', `calls/${encodeURIComponent(id)}/hangup`, reason ? { reason } : {});
  }

  getCall(id: string): Promise<SimCall> {
    return this.call<SimCall>('GET', `calls/${encodeURIComponent(id)}`);
  }

  requests(): Promise<SimRequest[]> {
    return this.call<SimRequest[]>('GET', 'requests');
  }

  clearRequests(): Promise<unknown> {
    return this.call('DELETE', 'requests');
  }

  faults(faults: Record<string, unknown>): Promise<unknown> {
    return this.call('POST', 'faults', faults);
  }

  subscriptions(): Promise<Array<Record<string, unknown>>> {
    return this.call('GET', 'subscriptions');
  }
}

export interface SimCall {
  id: string;
  connectionid: string;
  cid: string;
  state: string;
  acallid: string;
  bcallid: string;
  fromnum: string;
  tonum: string;
  recordingKey?: string;
  conference?: string;
  [key: string]: unknown;
}

export interface SimRequest {
  kind: 'rest' | 'ws';
  method: string;
  path: string;
  query?: Record<string, string>;
  headers: { authorization?: string; cookie?: string; contentType?: string };
  body: unknown;
  status?: number;
}

export async function simulator(opts: SimulatorOptions = {}): Promise<{ sim: Simulator; ctl: SimControl }> {
  const sim = await startSimulator({ port: 0, ...opts });
  return { sim, ctl: new SimControl(sim) };
}
