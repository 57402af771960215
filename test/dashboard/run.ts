/**
 * `npm run test:dashboard`: the wallboard and the operator panel (examples 17 and 18) as users see
 * them. Starts the simulator and a real Node-RED with this package and Dashboard 2 installed
 * (linked into a temporary user directory), deploys both examples as the editor would (`POST
 * /flows`, the server's credentials inline), and drives headless Chromium (Debian's, through
 * playwright-core) at /dashboard:
 *   - the wallboard's figures follow the simulator's calls, and say so when the platform is away;
 *     the service-level gauge hides while no inbound call was counted;
 *   - two browser contexts are two operators (101 and 102): an incoming call pops up only in the
 *     browser of the operator whose phone rings, and each table lists that operator's calls only;
 *   - the table's buttons hold, resume, transfer and hang up that very call (checked on the
 *     simulator, /_sim/calls/<id>), a click forged in 102's browser for 101's call does nothing,
 *     the form dials from the operator's number, and a button pressed for a call that ended
 *     meanwhile tells that operator so and the table drops the row;
 *   - a burst of 100 calls reads the call list a few times, not once per event, and the last read
 *     follows the last event; a read the platform refuses tells nobody and holds up no later read;
 *   - 101's browser, its connection cut (a TCP relay in front of Node-RED), and both browsers
 *     after a Node-RED restart, still get their pop-ups and their rows.
 * Exits non-zero on any failure; stops everything it started and removes its temporary directory.
 *
 * Environment: CHROMIUM_PATH (default /usr/bin/chromium), DASHBOARD_TEST_SCREENSHOTS (a directory
 * for wallboard.png and operator-panel.png; none when unset or "0" — `=docs/images` refreshes the
 * README's pictures).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSimulator, type Simulator } from '../../src/simulator';
import { CHROMIUM, CHROMIUM_ARGS, check, fail, freePort, makeUserDir, root, startNodeRed, stopChild, tally } from '../editor/harness';
import { startRelay, type Relay } from './relay';

const EXAMPLES = ['17-wallboard.json', '18-operator-panel.json'];
const shotsSetting = process.env.DASHBOARD_TEST_SCREENSHOTS;
const SHOTS = !shotsSetting || shotsSetting === '0' ? undefined : path.resolve(shotsSetting);
/** Long enough for a snapshot (every 5 s) and a busy machine. */
const SEEN_MS = 20_000;

type FlowNode = Record<string, unknown> & { id: string; type: string };

// The page's globals, inside page.evaluate callbacks.
declare const document: { body: { innerText: string }; querySelector(selector: string): unknown };

/** Node-RED as started for the test; `restart` stops it and starts it again on the same port and user dir. */
interface Red {
  url: string;
  restart(): Promise<void>;
}

function buildIfNeeded(): void {
  if (fs.existsSync(path.join(root, 'dist', 'nodes', 'era-stats.js'))) return;
  console.log('dist/ is incomplete: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/** A Node-RED user directory with this checkout and Dashboard 2 installed (linked), as the palette manager would. */


/** Both examples in one deploy, each on a tab of its own; the config nodes they share once, the server pointed at the simulator. */
async function deployExamples(url: string, sim: Simulator): Promise<void> {
  const nodes: FlowNode[] = [
    { id: 'ex17-tab', type: 'tab', label: 'Wallboard', disabled: false, info: '' },
    { id: 'ex18-tab', type: 'tab', label: 'Operator panel', disabled: false, info: '' },
  ];
  const seen = new Set<string>();
  for (const file of EXAMPLES) {
    for (const n of JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')) as FlowNode[]) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      nodes.push(n.type === 'era-server' ? { ...n, url: sim.url, credentials: { login: 'operator', password: 'operator' } } : n);
    }
  }
  const res = await fetch(`${url}flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(nodes),
  });
  if (!res.ok) throw new Error(`deploying the examples failed: HTTP ${res.status} ${await res.text()}`);
  for (let i = 0; i < 150; i++) {
    if (await fetch(`${url}dashboard/wallboard`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the dashboard did not answer within 30 s of the deploy');
}

/** Resolves once `test` holds; false when it did not within `ms`. */
async function eventually(test: () => Promise<boolean>, ms = SEEN_MS): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await test().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Operator {
  page: Page;
  /** Uncaught exceptions in the page. */
  errors: string[];
}

async function openDashboard(browser: Browser, url: string, pagePath: string): Promise<Operator> {
  // Each context is a browser of its own: its own Dashboard 2 session and its own localStorage.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}dashboard/${pagePath}`);
  return { page, errors };
}

/** The value a ui-text widget of the wallboard shows. */
function shown(page: Page, widget: string): Promise<string> {
  return page.locator(`#nrdb-ui-widget-${widget} .nrdb-ui-text-value`).innerText({ timeout: 2000 });
}

async function showsValue(page: Page, widget: string, expected: string): Promise<{ ok: boolean; last: string }> {
  let last = '';
  const ok = await eventually(async () => (last = await shown(page, widget)) === expected);
  return { ok, last };
}

/** Does the page show this text anywhere (notifications included)? */
function pageShows(page: Page, text: string): Promise<boolean> {
  return page.evaluate((t) => document.body.innerText.includes(t), text);
}

/** Types into one of the operator's own fields (the My number widget's `my-number` or `transfer-to`) and presses Enter. */
async function enter(page: Page, field: 'my-number' | 'transfer-to', value: string): Promise<void> {
  const input = page.locator(`#nrdb-ui-widget-ex18-me input[name="${field}"]`);
  await input.fill(value);
  await input.press('Enter');
}

/** The table row of the call from `caller`. */
function row(page: Page, caller: string) {
  return page.locator('#nrdb-ui-widget-ex18-table tbody tr', { hasText: caller });
}

async function press(page: Page, caller: string, button: string): Promise<void> {
  await row(page, caller).locator(`td[data-column-key="${button}"] button`).click();
}

/**
 * What a hostile operator could send from their browser's console: the table's button click
 * (the very message Dashboard 2's ui-table emits) for a row their table never showed.
 */
async function forgeClick(page: Page, rowData: Record<string, string>, column: string): Promise<void> {
  await page.evaluate(
    ({ payload, column }) => {
      type Socket = { emit(event: string, ...args: unknown[]): void };
      const app = (document.querySelector('#app') as { __vue_app__: { _context: { provides: { $socket: Socket } } } }).__vue_app__;
      app._context.provides.$socket.emit('widget-action', 'ex18-table', { payload, column, action: 'button_click' });
    },
    { payload: rowData, column },
  );
}

/** Whether the service-level gauge is on the page for the eye. */
function gaugeShown(page: Page): Promise<boolean> {
  return page.locator('#nrdb-ui-widget-ex17-gauge').isVisible();
}

/** Closes Dashboard 2's navigation drawer when it is open (it may be, after a reconnection): it would cover the picture. */
async function closeDrawer(page: Page): Promise<void> {
  const open = page.locator('[data-el="nav-drawer"].v-navigation-drawer--active');
  if ((await open.count()) === 0) return;
  await page.locator('header button').first().click();
  check(await eventually(async () => (await open.count()) === 0, 5000), 'the navigation drawer closes for the picture');
  await page.waitForTimeout(500);
}

/** The call list reads the simulator received (`GET /rest/v1/uc/calls`). */
function listReads(sim: Simulator): number {
  return sim.requests().filter((r) => r.kind === 'rest' && r.method === 'GET' && r.path === '/rest/v1/uc/calls').length;
}

/** The operators' numbers the panel's flow knows now (its flow context, through Node-RED's admin API). */
async function knownNumbers(redUrl: string): Promise<string[]> {
  const res = await fetch(`${redUrl}context/flow/ex18-tab`);
  if (!res.ok) return [];
  const stored = ((await res.json()) as { memory?: { eraOperators?: { msg: string } } }).memory?.eraOperators;
  const operators = stored ? (JSON.parse(stored.msg) as Record<string, { number: string }>) : {};
  return Object.values(operators).map((o) => o.number).sort();
}

/** Resolves once the panel has not read the call list for a second: every read asked for is back. */
async function readsSettled(sim: Simulator): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50 && listReads(sim) !== last; i++) {
    last = listReads(sim);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The call as the simulator's control API shows it (`GET /_sim/calls/<id>`). */
async function callState(sim: Simulator, id: string): Promise<{ state: string; tonum: string }> {
  const res = await fetch(`${sim.url}/_sim/calls/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`/_sim/calls/${id}: HTTP ${res.status}`);
  return (await res.json()) as { state: string; tonum: string };
}

async function checkWallboard(browser: Browser, url: string, sim: Simulator): Promise<void> {
  console.log('Wallboard');
  const { page, errors } = await openDashboard(browser, url, 'wallboard');
  check(await eventually(async () => (await shown(page, 'ex17-platform')) === 'connected'), 'the wallboard shows the platform connected');
  const zero = await showsValue(page, 'ex17-ringing', '0');
  check(zero.ok, 'no call rings yet', zero.last);
  const none = await showsValue(page, 'ex17-sl-text', 'no inbound call in the last 60 min');
  check(none.ok && !(await gaugeShown(page)), 'no inbound call counted: no service level, the gauge is hidden', `${none.last}; gauge shown: ${await gaugeShown(page)}`);

  const first = sim.startCall({ from: '+79990000105', to: '105' });
  const second = sim.startCall({ from: '+79990000106', to: '106' });
  const ringing = await showsValue(page, 'ex17-ringing', '2');
  check(ringing.ok, 'two calls ring: "Ringing now" shows 2', ringing.last);
  sim.answerCall(second.id);
  const talking = await showsValue(page, 'ex17-talking', '1');
  check(talking.ok, 'one answered: "Talking now" shows 1', talking.last);
  sim.hangupCall(second.id);
  sim.hangupCall(first.id, 'cancel');
  const answered = await showsValue(page, 'ex17-answered', '1');
  const missed = await showsValue(page, 'ex17-missed', '1');
  check(answered.ok && missed.ok, 'both ended: the last hour counts one answered and one missed', `${answered.last} / ${missed.last}`);
  const level = await showsValue(page, 'ex17-sl-text', '50 % of inbound calls answered in time');
  check(level.ok, 'the service level: one of two inbound calls', level.last);
  const gauge = page.locator('#nrdb-ui-widget-ex17-gauge .nrdb-ui-gauge-value');
  check(await eventually(async () => (await gaugeShown(page)) && (await gauge.innerText()).includes('50')), 'and the gauge shows it', await gauge.innerText().catch(() => 'not shown'));
  check(await eventually(async () => (await page.locator('#nrdb-ui-widget-ex17-operators tbody tr', { hasText: '106' }).innerText()).includes('free')), 'the operators table lists 106, free now');
  check((await page.locator('#nrdb-ui-widget-ex17-chart canvas').count()) > 0, 'the chart is drawn');

  console.log('Wallboard: the platform away');
  const restarted = sim.restart({ downMs: 12_000 });
  const away = await eventually(async () => (await shown(page, 'ex17-platform')).startsWith('away'));
  const dash = await showsValue(page, 'ex17-ringing', '—');
  check(away && dash.ok, 'the platform away: the board says so and shows no live figure', `${await shown(page, 'ex17-platform')} / ${dash.last}`);
  const kept = await shown(page, 'ex17-answered');
  check(kept === '1', 'the last hour is still shown', kept);
  await restarted;
  check(await eventually(async () => (await shown(page, 'ex17-platform')) === 'connected', 40_000), 'back: connected again');

  if (SHOTS) {
    // A busier hour for the picture: answered, missed, ringing, talking and held calls.
    const busy = [];
    for (let i = 0; i < 9; i++) busy.push(sim.startCall({ from: `+7999123450${i}`, to: String(107 + i) }));
    for (const call of busy.slice(0, 6)) sim.answerCall(call.id);
    await new Promise((r) => setTimeout(r, 6000));
    for (const call of busy.slice(0, 3)) sim.hangupCall(call.id);
    sim.hangupCall(busy[6]!.id, 'cancel');
    await new Promise((r) => setTimeout(r, 11_000));
    await closeDrawer(page);
    await page.screenshot({ path: path.join(SHOTS, 'wallboard.png'), fullPage: true });
    for (const call of busy.slice(3)) if (sim.getCall(call.id).state !== 'ended') sim.hangupCall(call.id);
  }
  check(errors.length === 0, 'the wallboard page threw nothing', errors.join('; '));
  await page.context().close();
}

async function checkOperatorPanel(browser: Browser, red: Red, sim: Simulator): Promise<void> {
  console.log('Operator panel: two operators, 101 and 102, in browsers of their own');
  // 101's browser goes through a relay, so that its connection alone can be cut later.
  const relay: Relay = await startRelay(Number(new URL(red.url).port));
  const a = await openDashboard(browser, relay.url, 'operator');
  const b = await openDashboard(browser, red.url, 'operator');
  try {
    await checkTwoOperators(a, b, sim);
    await checkBurst(a, sim);
    await checkFailedRead(a, b, sim);
    await checkReconnections(a, b, sim, red, relay);
    if (SHOTS) {
      // The answered call first: a pop-up shows the latest incoming call, the ringing one.
      sim.startCall({ from: '+79031112233', to: '101', answer: true });
      await eventually(async () => (await row(a.page, '+79031112233').count()) === 1);
      sim.startCall({ from: '+79161234567', to: '101' });
      await closeDrawer(a.page);
      check(
        await eventually(async () => (await row(a.page, '+79161234567').count()) === 1 && (await row(a.page, '+79031112233').innerText()).includes('talking') && (await pageShows(a.page, 'Incoming call from +79161234567'))),
        'the picture of the operator panel: two calls and a pop-up',
        `the page shows: ${(await a.page.evaluate(() => document.body.innerText)).replace(/\s+/g, ' ').slice(0, 600)}`,
      );
      await a.page.waitForTimeout(500);
      await a.page.screenshot({ path: path.join(SHOTS, 'operator-panel.png') });
    }
    check(a.errors.length === 0 && b.errors.length === 0, 'the operator pages threw nothing', [...a.errors, ...b.errors].join('; '));
  } finally {
    await a.page.context().close();
    await b.page.context().close();
    await relay.close();
  }
}

async function checkTwoOperators(a: Operator, b: Operator, sim: Simulator): Promise<void> {
  await enter(a.page, 'my-number', '101');
  await enter(b.page, 'my-number', '102');
  check(await eventually(() => pageShows(a.page, 'Calls ringing on 101 will pop up here')), '101 is told its calls will pop up');
  check(await eventually(() => pageShows(b.page, 'Calls ringing on 102 will pop up here')), '102 is told its calls will pop up');
  await new Promise((r) => setTimeout(r, 1000));
  const mine = await a.page.locator('#nrdb-ui-widget-ex18-me input[name="my-number"]').inputValue();
  check(mine === '101', 'each operator\'s field is their own: 102 typing changed nothing in 101\'s browser', mine);

  const to101 = sim.startCall({ from: '+79990000201', to: '101' });
  check(await eventually(() => pageShows(a.page, 'Incoming call from +79990000201 to 101')), 'a call rings on 101: 101 sees it pop up');
  await new Promise((r) => setTimeout(r, 2000));
  check(!(await pageShows(b.page, 'Incoming call from +79990000201')), '102 does not');
  const to102 = sim.startCall({ from: '+79990000202', to: '102' });
  check(await eventually(() => pageShows(b.page, 'Incoming call from +79990000202 to 102')), 'a call rings on 102: 102 sees it pop up');
  await new Promise((r) => setTimeout(r, 2000));
  check(!(await pageShows(a.page, 'Incoming call from +79990000202')), '101 does not');

  check(await eventually(async () => (await row(a.page, '+79990000201').count()) === 1 && (await row(b.page, '+79990000202').count()) === 1), 'each call is a row of its operator\'s table');
  check((await row(a.page, '+79990000202').count()) === 0 && (await row(b.page, '+79990000201').count()) === 0, 'and of no other operator\'s: 101 does not see 102\'s call, nor 102 101\'s');

  console.log('Operator panel: 102 cannot act on 101\'s call');
  sim.clearRequests();
  await forgeClick(b.page, { id: to101.id, from: '+79990000201', to: '101', state: 'ringing' }, 'Hang up');
  check(await eventually(() => pageShows(b.page, 'Not a call of 102: nothing was done')), 'Hang up sent from 102\'s browser for 101\'s call: 102 is told it is not theirs');
  check((await callState(sim, to101.id)).state === 'ring', 'the call still rings on 101');
  check(!sim.requests().some((r) => r.kind === 'rest' && r.method === 'DELETE'), 'nothing was sent to the platform');

  console.log('Operator panel: the buttons act on their row\'s call');
  sim.answerCall(to101.id);
  check(await eventually(async () => (await row(a.page, '+79990000201').innerText()).includes('talking')), 'the answered call shows talking');
  await press(a.page, '+79990000201', 'Hold');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'hold'), 'Hold: the simulator holds that call');
  check(await eventually(async () => (await row(a.page, '+79990000201').innerText()).includes('on hold')), 'and the row says so');
  await press(a.page, '+79990000201', 'Resume');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'talk'), 'Resume: talking again');
  await press(a.page, '+79990000201', 'Hang up');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'ended'), 'Hang up: the simulator ends that call');
  check(await eventually(async () => (await row(a.page, '+79990000201').count()) === 0), 'and it leaves the table');
  check((await callState(sim, to102.id)).state === 'ring', 'the other call was left alone');

  const transferred = sim.startCall({ from: '+79990000203', to: '101', answer: true });
  check(await eventually(async () => (await row(a.page, '+79990000203').count()) === 1), 'another call on 101');
  await press(a.page, '+79990000203', 'Transfer');
  check(await eventually(() => pageShows(a.page, 'Type the number to transfer to first')), 'Transfer with no target: the operator is asked for one, nothing sent');
  await enter(a.page, 'transfer-to', 'сто три');
  check(await eventually(() => pageShows(a.page, 'Transfer to: "сто три" is not a phone number')), 'a target in words: the operator is told it is no phone number');
  await press(a.page, '+79990000203', 'Transfer');
  await new Promise((r) => setTimeout(r, 1000));
  check((await callState(sim, transferred.id)).tonum === '101', 'and Transfer sends the call nowhere');
  await enter(a.page, 'transfer-to', '103');
  await new Promise((r) => setTimeout(r, 500));
  await press(a.page, '+79990000203', 'Transfer');
  check(await eventually(async () => (await callState(sim, transferred.id)).tonum === '103'), 'Transfer: the call goes to 103');
  check(await eventually(async () => (await row(a.page, '+79990000203').count()) === 0), 'and leaves 101\'s table: it is 103\'s call now');
  sim.hangupCall(transferred.id);

  console.log('Operator panel: a button for a call that already ended');
  await readsSettled(sim);
  sim.setFaults({ dropEvents: true });
  sim.hangupCall(to102.id);
  await new Promise((r) => setTimeout(r, 500));
  check((await row(b.page, '+79990000202').count()) === 1, 'the ended call is still a row (its end was not heard)');
  await press(b.page, '+79990000202', 'Hang up');
  check(await eventually(() => pageShows(b.page, 'That call has already ended')), 'pressing Hang up on it: "That call has already ended"');
  check(await eventually(async () => (await row(b.page, '+79990000202').count()) === 0), 'and the table is read again: the row is gone');
  check(!(await pageShows(a.page, 'That call has already ended')), 'only the operator who pressed it is told');
  sim.clearFaults();

  console.log('Operator panel: the form dials from the operator\'s number');
  const form = a.page.locator('#nrdb-ui-widget-ex18-dial-form');
  sim.clearRequests();
  await form.locator('input').fill('позвони 555');
  await form.getByRole('button', { name: 'Call' }).click();
  check(await eventually(() => pageShows(a.page, '"позвони 555" is not a phone number: nothing was dialled')), 'a number in words: the operator is told it is none');
  check(!sim.requests().some((r) => r.kind === 'rest' && r.method === 'POST'), 'and nothing was sent to the platform');
  await form.locator('input').fill('+7 999 555-00-00');
  await form.getByRole('button', { name: 'Call' }).click();
  let dialled: { id: string } | undefined;
  check(
    await eventually(async () => (dialled = sim.listCalls().find((c) => c.fromnum === '101' && c.tonum === '+79995550000')) !== undefined),
    'Call: the simulator has a call from 101 to +79995550000',
    `the page shows: ${(await a.page.evaluate(() => document.body.innerText)).replace(/\s+/g, ' ').slice(0, 400)}`,
  );
  check(await eventually(() => pageShows(a.page, 'Calling +79995550000 from 101')), 'and the operator is told');
  if (dialled) sim.hangupCall(dialled.id);
}

async function checkBurst(a: Operator, sim: Simulator): Promise<void> {
  console.log('Operator panel: a burst of calls');
  const before = sim.startCall({ from: '+79990000204', to: '101' });
  check(await eventually(async () => (await row(a.page, '+79990000204').count()) === 1), 'a call rings on 101 before the burst');
  sim.clearRequests();
  const burst = await sim.burst({ calls: 100, answer: true });
  sim.hangupCall(before.id);
  check(await eventually(async () => (await row(a.page, '+79990000204').count()) === 0), 'the call ended after the burst\'s last event leaves the table: a read followed it');
  await new Promise((r) => setTimeout(r, 2000));
  const reads = listReads(sim);
  // Reading once per event was 6 reads per call (600); one read at a time folds what asks meanwhile.
  check(reads >= 1 && reads <= 20, `${burst.calls} calls, ${burst.events} events: the call list was read a few times, not once per event`, `${reads} reads`);
  console.log(`    (${reads} reads of the call list for ${burst.events} events)`);
}

async function checkFailedRead(a: Operator, b: Operator, sim: Simulator): Promise<void> {
  console.log('Operator panel: a read of the call list fails');
  await readsSettled(sim);
  sim.clearRequests();
  sim.setFaults({ restStatus: { status: 500, count: 1 } });
  const call = sim.startCall({ from: '+79990000208', to: '101' });
  check(await eventually(async () => sim.requests().some((r) => r.path === '/rest/v1/uc/calls' && r.status === 500)), 'the platform refuses a read of the call list');
  await readsSettled(sim);
  check(!(await pageShows(a.page, 'Failed')) && !(await pageShows(b.page, 'Failed')), 'no operator is told: none asked for that read');
  // Were the failed read not over, the reads asked for since would wait for it a minute.
  sim.answerCall(call.id);
  check(await eventually(async () => (await row(a.page, '+79990000208').innerText()).includes('talking')), 'the next event reads the list again: the call is a row, talking');
  sim.hangupCall(call.id);
  check(await eventually(async () => (await row(a.page, '+79990000208').count()) === 0), 'and it leaves the table when it ends');
}

async function checkReconnections(a: Operator, b: Operator, sim: Simulator, red: Red, relay: Relay): Promise<void> {
  console.log('Operator panel: 101\'s connection cut');
  const cut = relay.cut();
  check(cut > 0, '101\'s browser lost its connection', `${cut} connections cut`);
  check(await eventually(() => pageShows(a.page, 'Connection re-established')), 'Dashboard 2 reconnects it (a new session)');
  const field = await a.page.locator('#nrdb-ui-widget-ex18-me input[name="my-number"]').inputValue();
  const afterCut = sim.startCall({ from: '+79990000205', to: '101' });
  check(await eventually(() => pageShows(a.page, 'Incoming call from +79990000205 to 101')), 'a new call to 101 still pops up in 101\'s browser', `the field shows ${field}`);
  check(await eventually(async () => (await row(a.page, '+79990000205').count()) === 1), 'and is a row of its table');
  sim.hangupCall(afterCut.id, 'cancel');

  console.log('Operator panel: Node-RED restarted');
  await red.restart();
  // A call that rings before the browsers are back, or before the flow has subscribed, cannot pop up.
  check(await eventually(async () => (await knownNumbers(red.url)).join() === '101,102', 60_000), 'the restarted flow learns again who is at each browser', (await knownNumbers(red.url)).join());
  await eventually(async () => sim.subscriptions().length > 0);
  const toA = sim.startCall({ from: '+79990000206', to: '101' });
  const toB = sim.startCall({ from: '+79990000207', to: '102' });
  check(await eventually(() => pageShows(a.page, 'Incoming call from +79990000206 to 101'), 60_000), 'after the restart a call to 101 pops up in 101\'s browser');
  check(await eventually(() => pageShows(b.page, 'Incoming call from +79990000207 to 102')), 'and a call to 102 in 102\'s');
  check(await eventually(async () => (await row(a.page, '+79990000206').count()) === 1 && (await row(b.page, '+79990000207').count()) === 1), 'each a row of its operator\'s table again');
  sim.hangupCall(toA.id, 'cancel');
  sim.hangupCall(toB.id, 'cancel');
}

async function main(): Promise<void> {
  buildIfNeeded();
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
  const cleanup: Array<() => Promise<void> | void> = [];
  const runCleanup = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        console.error(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const onSignal = () => void runCleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  type Started = Awaited<ReturnType<typeof startNodeRed>>;
  let running: Started | undefined;
  let earlierLog = '';
  const redLog = () => earlierLog + (running?.log() ?? '');
  try {
    const sim = await startSimulator({ port: 0, dlgStopDelayMs: 100 });
    cleanup.push(() => sim.stop());
    const userDir = makeUserDir('dashboard');
    cleanup.push(() => fs.rmSync(userDir, { recursive: true, force: true }));
    const port = await freePort();
    running = await startNodeRed(userDir, port);
    cleanup.push(() => running && stopChild(running.child));
    const red: Red = {
      url: running.url,
      restart: async () => {
        const stopping = running;
        running = undefined;
        if (stopping) {
          await stopChild(stopping.child);
          earlierLog += stopping.log();
        }
        running = await startNodeRed(userDir, port);
      },
    };
    console.log(`Node-RED ${red.url} with Dashboard 2 (user dir ${userDir}), simulator ${sim.url}, Chromium ${CHROMIUM}`);
    await deployExamples(red.url, sim);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    cleanup.push(() => browser.close());
    await checkWallboard(browser, red.url, sim);
    await checkOperatorPanel(browser, red, sim);
  } catch (err) {
    fail(`the run broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await runCleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const { passed, failures } = tally();
  console.log(`\n${passed} passed, ${failures.length} failed`);
  for (const f of failures) console.log(`  ✘ ${f}`);
  if (failures.length > 0) console.log(`\nNode-RED's output:\n${redLog().slice(-4000)}`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

void main();
