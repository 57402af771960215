import { helper, Inbox, load, serverNode, USER_CREDENTIALS, type FlowNode } from './red';
import type { SimControl, Simulator, SimRequest } from './sim';

/**
 * One action node under test on a tab with a Catch node, so a test sees both what the node
 * sends on and what it reports as an error.
 */
export async function loadAction(
  sim: Simulator,
  node: Record<string, unknown> & { type: string },
  opts: { server?: Record<string, unknown>; credentials?: Record<string, unknown>; extra?: FlowNode[] } = {},
): Promise<{ out: Inbox; caught: Inbox; send(msg: Record<string, unknown>): void }> {
  await load(
    [
      { id: 'tab', type: 'tab' },
      serverNode(sim, opts.server),
      { id: 'n', z: 'tab', server: 'srv', wires: [['out']], ...node },
      { id: 'out', z: 'tab', type: 'helper' },
      { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
      ...(opts.extra ?? []),
    ],
    opts.credentials ?? USER_CREDENTIALS,
  );
  const caught = new Inbox('caught');
  // A test waiting for output that never comes is told what went to Catch instead.
  const out = new Inbox('out', () => caught.messages.map((m) => `${errorOf(m).code}: ${errorOf(m).message}`).join('; '));
  return { out, caught, send: (msg) => helper.getNode('n').receive(msg) };
}

/** REST requests the simulator received for the call API (login and /_sim/ left out). */
export async function callRequests(ctl: SimControl): Promise<SimRequest[]> {
  return (await ctl.requests()).filter((r) => r.kind === 'rest' && r.path.startsWith('/rest/v1/uc/'));
}

/**
 * Every login the simulator received, REST (`POST /rest/v1/iam/sessions`, with its status) and
 * socket (`login` frame), as "kind method path [status]": the platform bans an address after
 * five failed ones, so tests count them exactly.
 */
export async function loginAttempts(ctl: SimControl): Promise<string[]> {
  return (await ctl.requests())
    .filter((r) => (r.kind === 'rest' && r.method === 'POST' && r.path === '/rest/v1/iam/sessions') || (r.kind === 'ws' && r.method === 'login'))
    .map((r) => `${r.kind} ${r.method} ${r.path}${r.status === undefined ? '' : ` ${r.status}`}`);
}

export function errorOf(msg: Record<string, unknown>): { code?: string; message?: string } {
  return (msg.error ?? {}) as { code?: string; message?: string };
}
