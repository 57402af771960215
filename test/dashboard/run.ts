/**
 * `npm run test:dashboard`: the wallboard and the operator panel (examples 17 and 18) as users see
 * them. Starts the simulator and a real Node-RED with this package and Dashboard 2 installed
 * (linked into a temporary user directory), deploys both examples as the editor would (`POST
 * /flows`, the server's credentials inline), and drives headless Chromium (Debian's, through
 * playwright-core) at /dashboard:
 *   - the wallboard's figures follow the simulator's calls, and say so when the platform is away;
 *   - two browser contexts are two operators (101 and 102): an incoming call pops up only in the
 *     browser of the operator whose phone rings;
 *   - the table's buttons hold, resume, transfer and hang up that very call (checked on the
 *     simulator, /_sim/calls/<id>), the form dials from the operator's number, and a button
 *     pressed for a call that ended meanwhile tells that operator so and the table drops the row.
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

const EXAMPLES = ['17-wallboard.json', '18-operator-panel.json'];
const shotsSetting = process.env.DASHBOARD_TEST_SCREENSHOTS;
const SHOTS = !shotsSetting || shotsSetting === '0' ? undefined : path.resolve(shotsSetting);
/** Long enough for a snapshot (every 5 s) and a busy machine. */
const SEEN_MS = 20_000;

type FlowNode = Record<string, unknown> & { id: string; type: string };

// The page's globals, inside page.evaluate callbacks.
declare const document: { body: { innerText: string } };

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

async function enter(page: Page, widget: string, value: string): Promise<void> {
  const input = page.locator(`#nrdb-ui-widget-${widget} input`);
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
  check(await eventually(async () => (await page.locator('#nrdb-ui-widget-ex17-operators tbody tr', { hasText: '106' }).innerText()).includes('free')), 'the operators table lists 106, free now');
  check((await page.locator('#nrdb-ui-widget-ex17-chart canvas').count()) > 0, 'the chart is drawn');

  console.log('Wallboard: the platform away');
  const restarted = sim.restart({ downMs: 12_000 });
  const away = await eventually(async () => (await shown(page, 'ex17-platform')).startsWith('not connected'));
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
    await page.screenshot({ path: path.join(SHOTS, 'wallboard.png'), fullPage: true });
    for (const call of busy.slice(3)) if (sim.getCall(call.id).state !== 'ended') sim.hangupCall(call.id);
  }
  check(errors.length === 0, 'the wallboard page threw nothing', errors.join('; '));
  await page.context().close();
}

async function checkOperatorPanel(browser: Browser, url: string, sim: Simulator): Promise<void> {
  console.log('Operator panel: two operators, 101 and 102, in browsers of their own');
  const a = await openDashboard(browser, url, 'operator');
  const b = await openDashboard(browser, url, 'operator');
  await enter(a.page, 'ex18-me', '101');
  await enter(b.page, 'ex18-me', '102');
  check(await eventually(() => pageShows(a.page, 'Calls ringing on 101 will pop up here')), '101 is told its calls will pop up');
  check(await eventually(() => pageShows(b.page, 'Calls ringing on 102 will pop up here')), '102 is told its calls will pop up');
  await new Promise((r) => setTimeout(r, 1000));
  const mine = await a.page.locator('#nrdb-ui-widget-ex18-me input').inputValue();
  check(mine === '101', 'each operator\'s field is their own: 102 typing changed nothing in 101\'s browser', mine);

  const to101 = sim.startCall({ from: '+79990000201', to: '101' });
  check(await eventually(() => pageShows(a.page, 'Incoming call from +79990000201 to 101')), 'a call rings on 101: 101 sees it pop up');
  await new Promise((r) => setTimeout(r, 2000));
  check(!(await pageShows(b.page, 'Incoming call from +79990000201')), '102 does not');
  const to102 = sim.startCall({ from: '+79990000202', to: '102' });
  check(await eventually(() => pageShows(b.page, 'Incoming call from +79990000202 to 102')), 'a call rings on 102: 102 sees it pop up');
  await new Promise((r) => setTimeout(r, 2000));
  check(!(await pageShows(a.page, 'Incoming call from +79990000202')), '101 does not');

  check(await eventually(async () => (await row(a.page, '+79990000201').count()) === 1 && (await row(b.page, '+79990000202').count()) === 1), 'both calls are rows of the table, in both browsers');

  console.log('Operator panel: the buttons act on their row\'s call');
  sim.answerCall(to101.id);
  check(await eventually(async () => (await row(a.page, '+79990000201').innerText()).includes('talking')), 'the answered call shows talking');
  await press(a.page, '+79990000201', 'Hold');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'hold'), 'Hold: the simulator holds that call');
  check(await eventually(async () => (await row(a.page, '+79990000201').innerText()).includes('on hold')), 'and the row says so');
  await press(a.page, '+79990000201', 'Resume');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'talk'), 'Resume: talking again');
  await press(a.page, '+79990000201', 'Transfer');
  check(await eventually(() => pageShows(a.page, 'Type the number to transfer to first')), 'Transfer with no target: the operator is asked for one, nothing sent');
  await enter(a.page, 'ex18-target', '103');
  await new Promise((r) => setTimeout(r, 500));
  await press(a.page, '+79990000201', 'Transfer');
  check(await eventually(async () => (await callState(sim, to101.id)).tonum === '103'), 'Transfer: the call goes to 103');
  await press(a.page, '+79990000201', 'Hang up');
  check(await eventually(async () => (await callState(sim, to101.id)).state === 'ended'), 'Hang up: the simulator ends that call');
  check(await eventually(async () => (await row(b.page, '+79990000201').count()) === 0), 'and it leaves the table');
  check((await callState(sim, to102.id)).state === 'ring', 'the other call was left alone');

  console.log('Operator panel: a button for a call that already ended');
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
  await form.locator('input').fill('+79995550000');
  await form.getByRole('button', { name: 'Call' }).click();
  let dialled: { id: string } | undefined;
  check(
    await eventually(async () => (dialled = sim.listCalls().find((c) => c.fromnum === '101' && c.tonum === '+79995550000')) !== undefined),
    'Call: the simulator has a call from 101 to +79995550000',
    `the page shows: ${(await a.page.evaluate(() => document.body.innerText)).replace(/\s+/g, ' ').slice(0, 400)}`,
  );
  check(await eventually(() => pageShows(a.page, 'Calling +79995550000 from 101')), 'and the operator is told');

  if (SHOTS) {
    sim.startCall({ from: '+79161234567', to: '101' });
    const other = sim.startCall({ from: '+79031112233', to: '104' });
    sim.answerCall(other.id);
    await eventually(async () => (await row(a.page, '+79161234567').count()) === 1 && (await pageShows(a.page, 'Incoming call from +79161234567')));
    await a.page.waitForTimeout(500);
    await a.page.screenshot({ path: path.join(SHOTS, 'operator-panel.png') });
  }
  if (dialled) sim.hangupCall(dialled.id);
  check(a.errors.length === 0 && b.errors.length === 0, 'the operator pages threw nothing', [...a.errors, ...b.errors].join('; '));
  await a.page.context().close();
  await b.page.context().close();
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
  let red: { log: () => string } | undefined;
  try {
    const sim = await startSimulator({ port: 0, dlgStopDelayMs: 100 });
    cleanup.push(() => sim.stop());
    const userDir = makeUserDir('dashboard');
    cleanup.push(() => fs.rmSync(userDir, { recursive: true, force: true }));
    const started = await startNodeRed(userDir, await freePort());
    red = started;
    cleanup.push(() => stopChild(started.child));
    console.log(`Node-RED ${started.url} with Dashboard 2 (user dir ${userDir}), simulator ${sim.url}, Chromium ${CHROMIUM}`);
    await deployExamples(started.url, sim);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    cleanup.push(() => browser.close());
    await checkWallboard(browser, started.url, sim);
    await checkOperatorPanel(browser, started.url, sim);
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
  if (failures.length > 0 && red) console.log(`\nNode-RED's output:\n${red.log().slice(-4000)}`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

void main();
