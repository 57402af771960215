/**
 * The ban budget is the process's, one per platform machine (all of these tests' simulators
 * are 127.0.0.1, whatever their port), as the platform counts failures per client address: a
 * test that leaves failures counted would hold back the next one for 3 minutes. A login the
 * platform accepts clears the count, as the platform's own does; tests that count logins or
 * failures start from there, and leave it so.
 */
import assert from 'node:assert/strict';
import { EraError } from '../../src/era/errors';
import type { SimulatorOptions } from '../../src/simulator';
import { ctl, requests, sim, userClient, type SimRequest, type Simulator } from './helpers';

export const LOGIN_PATH = '/rest/v1/iam/sessions';

/** A login the platform accepts, from this process (by `url`): the count of failures at that address starts again. Clears the simulator's log. */
export async function acceptedLogin(s: Simulator, url = s.url): Promise<void> {
  const c = userClient(url);
  try {
    const result = await c.testConnection();
    assert.ok(result.ok, `the clean login: ${result.message}`);
  } finally {
    await c.close();
  }
  await ctl(s, 'DELETE', 'requests');
}

/** A simulator to count on, the process's count of failures at 127.0.0.1 cleared first by a login it accepts. */
export async function cleanSim(opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = await sim(opts);
  await acceptedLogin(s);
  return s;
}

/** For a suite's `after`: the failures it left at 127.0.0.1 and [::1] cleared, so that the next file starts from nothing. */
export async function leaveClean(): Promise<void> {
  const s = await sim({ host: '::' });
  try {
    const port = new URL(s.url).port;
    await acceptedLogin(s, `http://127.0.0.1:${port}`);
    await acceptedLogin(s, `http://[::1]:${port}`);
  } finally {
    await s.stop();
  }
}

export const logins = (log: SimRequest[]): SimRequest[] => log.filter((r) => r.kind === 'rest' && r.path === LOGIN_PATH);

/** REST requests that presented a session or token the platform did not know (logins aside). */
export const stale = (log: SimRequest[]): SimRequest[] => log.filter((r) => r.kind === 'rest' && r.status === 401 && r.path !== LOGIN_PATH);

export async function failedLogins(s: Simulator): Promise<number> {
  return logins(await requests(s)).filter((r) => r.status === 401).length;
}

/** The platform's own answer to a good login from this address (by `url`, the simulator's by default): 200 unless the address is banned. */
export async function goodLoginStatus(s: Simulator, url = s.url): Promise<number> {
  const res = await fetch(`${url}${LOGIN_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'demo.local', login: 'operator', pwd: 'operator', session_type: 'token' }) });
  await res.text();
  return res.status;
}

/** Someone else at this address types a wrong password `times` times (5 bans it). */
export async function othersFail(s: Simulator, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await fetch(`${s.url}${LOGIN_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ domain: 'demo.local', login: 'operator', pwd: 'wrong' }) });
    await res.text();
  }
}

/** The EraError `p` fails with. */
export async function failure(p: Promise<unknown>): Promise<EraError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EraError, String(err));
    return err;
  }
  assert.fail('expected a failure');
}
