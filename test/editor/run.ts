/**
 * `npm run test:editor`: the package as a user sees it in the Node-RED editor.
 *
 * Starts the simulator and a real Node-RED (this checkout linked into a temporary user
 * directory, as `npm install <path>` would), opens the editor in headless Chromium (Debian's,
 * driven by playwright-core) and checks that:
 *   - every node type is in the palette under "Era" (era-server, a config node, through a
 *     node's "add new server" button);
 *   - every node's edit dialog opens with no console error and no untranslated label, in
 *     English and in Russian;
 *   - every example is listed under Import → Examples and imports with no unknown node and
 *     no invalid node, config nodes included; each Era node's dialog opens with no red field
 *     and Done keeps the node valid (imported.ts);
 *   - `npm start` opens on the demo flow with nothing over it, also in a user directory an
 *     older launcher left, and stops on Ctrl+C (demo-start.ts);
 *   - a flow saved by the first release imports valid and deploys without a warning
 *     (old-flow.ts);
 *   - a server's URL changed with its password untouched deploys without the password, and
 *     connects once it is typed again (stored-secret.ts);
 * and saves the README's screenshots in docs/images/. Exits non-zero on any failure; stops
 * everything it started and removes its temporary directories.
 *
 * Environment: CHROMIUM_PATH (default /usr/bin/chromium), EDITOR_TEST_SCREENSHOTS (where
 * to save the screenshots; none when unset or "0" — `EDITOR_TEST_SCREENSHOTS=docs/images`
 * refreshes the README's pictures).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startSimulator, type Simulator } from '../../src/simulator';
import { checkDemoStart } from './demo-start';
import { dialogProblems, invalidNodes } from './imported';
import { checkOldFlow } from './old-flow';
import { checkStoredSecret } from './stored-secret';
import { CHROMIUM, CHROMIUM_ARGS, check, closeTrays, fail, freePort, makeUserDir, openEditor, root, startNodeRed, stopChild, tally, type ErrorWatch } from './harness';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;
declare const document: any;

/** The package's node types, as package.json lists them for Node-RED. */
const TYPES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes,
);
const FLOW_TYPES = TYPES.filter((t) => t !== 'era-server');
const shotsSetting = process.env.EDITOR_TEST_SCREENSHOTS;
// A test run must not rewrite tracked files, so screenshots are saved only when asked for.
const SHOTS = !shotsSetting || shotsSetting === '0' ? undefined : path.resolve(shotsSetting);
const EXAMPLES = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .sort();

function buildIfNeeded(): void {
  const built = [...TYPES.flatMap((t) => [`nodes/${t}.js`, `nodes/${t}.html`]), 'demo/start.js'];
  const missing = built.some((f) => !fs.existsSync(path.join(root, 'dist', f)));
  if (!missing) return;
  console.log('dist/ is incomplete: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/** A Node-RED user directory with this checkout installed (linked) and no first-run prompts. */


function readExample(file: string): Array<Record<string, unknown>> {
  return JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')) as Array<Record<string, unknown>>;
}

/** Deploys the screen-pop example, connected to the simulator, for the flow screenshot. */
async function deployShowcase(url: string, sim: Simulator): Promise<void> {
  const tab = { id: 'era-showcase-tab', type: 'tab', label: 'CRM screen pop', disabled: false, info: '' };
  const nodes = readExample('01-incoming-call-screen-pop.json').map((n) => {
    if (n.type === 'era-server') return { ...n, url: sim.url, credentials: { login: 'operator', password: 'operator' } };
    if (n.type === 'http request') return { ...n, z: tab.id, url: String(n.url).replace('http://127.0.0.1:1880/', url) };
    return { ...n, z: tab.id };
  });
  const res = await fetch(`${url}flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify([tab, ...nodes]),
  });
  if (!res.ok) throw new Error(`deploying the showcase flow failed: HTTP ${res.status} ${await res.text()}`);
}

/** Text that is an i18n key rather than a translation: the catalog is missing a key. */
async function untranslated(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel: string) => {
    const text = $(sel).text() + ' ' + $(sel).find('input[placeholder]').map((_i: number, e: any) => e.placeholder).get().join(' ');
    return text.match(/\bera-[a-z]+\.[A-Za-z.]+[A-Za-z]/g) || [];
  }, selector);
}

/** Adds a node of `type` by dragging it from the palette, as a user would; returns its id. */
async function dropFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  await page.evaluate(() => RED.view.select({ nodes: [] }));
  const item = page.locator(`#red-ui-palette-container .red-ui-palette-node[data-palette-type="${type}"]`);
  await item.scrollIntoViewIfNeeded();
  await item.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x, y } });
  await page.waitForTimeout(150);
  const id = await page.evaluate((t: string) => {
    const sel = RED.view.selection().nodes || [];
    const n = sel.find((s: any) => s.type === t);
    return n ? n.id : '';
  }, type);
  if (id) return id;
  // Drag and drop did not take (it depends on the window's layout): add it through the API.
  return page.evaluate(
    ({ t, px, py }: { t: string; px: number; py: number }) => {
      const result = RED.view.createNode ? RED.view.createNode(t, px, py) : undefined;
      const node = result && result.node ? result.node : result;
      RED.nodes.add(node);
      RED.editor.validateNode(node);
      RED.view.redraw(true);
      return node.id as string;
    },
    { t: type, px: x, py: y },
  );
}

/** Opens a node's edit dialog by double-clicking it on the canvas. */
async function openDialog(page: Page, id: string): Promise<void> {
  const node = page.locator(`g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`);
  if ((await node.count()) > 0) {
    await node.first().dblclick();
  } else {
    await page.evaluate((nid: string) => RED.editor.edit(RED.nodes.node(nid)), id);
  }
  await page.waitForSelector('.red-ui-tray .red-ui-tray-body form', { timeout: 10000 });
  await page.waitForTimeout(400);
}

async function checkPalette(page: Page, lang: string): Promise<void> {
  const found = await page.evaluate(() => {
    const out: Record<string, string> = {};
    $('#red-ui-palette-container .red-ui-palette-node').each((_i: number, e: any) => {
      const type = $(e).attr('data-palette-type');
      if (type && type.indexOf('era-') === 0) out[type] = String($(e).closest('.red-ui-palette-category').data('category'));
    });
    return out;
  });
  for (const type of FLOW_TYPES) {
    check(found[type] === 'Era', `[${lang}] palette: ${type} under Era`, found[type] ? `category ${found[type]}` : 'not in the palette');
  }
  const server = await page.evaluate(() => {
    const def = RED.nodes.getType('era-server');
    return def ? def.category : '';
  });
  check(server === 'config', `[${lang}] era-server is registered as a config node`, `category ${server}`);
}

async function checkDialogs(
  page: Page,
  errors: ErrorWatch,
  lang: string,
  shots: { simUrl?: string; server?: string; ru?: string },
): Promise<void> {
  errors.take();
  let x = 140;
  for (const type of FLOW_TYPES) {
    const id = await dropFromPalette(page, type, x, 140 + (FLOW_TYPES.indexOf(type) % 6) * 60);
    x = x >= 700 ? 140 : x + 140;
    await openDialog(page, id);
    const form = await page.evaluate(() => ({
      rows: $('.red-ui-tray .red-ui-tray-body form .form-row').length,
      server: $('#node-input-server').length,
    }));
    const raw = await untranslated(page, '.red-ui-tray');
    const errs = errors.take();
    check(form.rows > 0 && form.server > 0 && errs.length === 0 && raw.length === 0, `[${lang}] ${type}: edit dialog opens cleanly`, [
      form.rows === 0 ? 'empty form' : '',
      form.server === 0 ? 'no server field' : '',
      ...errs,
      raw.length ? `untranslated: ${raw.join(', ')}` : '',
    ].filter(Boolean).join('; '));
    if (type === 'era-dial' && shots.ru) {
      await page.evaluate(() => {
        const select = $('#node-input-server');
        const first = select.find('option').filter((_i: number, o: any) => o.value && o.value !== '_ADD_').first();
        if (first.length) select.val(first.val()).trigger('change');
      });
      await page.waitForTimeout(200);
      await page.locator('.red-ui-tray').last().screenshot({ path: shots.ru });
    }

    if (type === 'era-events') {
      // The config node's dialog, from the server field's "add new" button.
      const add = page.locator('#node-input-btn-server-add, #node-input-lookup-server').first();
      await add.click();
      await page.waitForSelector('#node-config-input-url', { timeout: 10000 });
      await page.waitForTimeout(400);
      const fields = await page.evaluate(() => ({
        url: $('#node-config-input-url').length,
        authMode: $('#node-config-input-authMode').length,
        login: $('#node-config-input-login').is(':visible'),
        token: $('#node-config-input-token').is(':visible'),
      }));
      const rawServer = await untranslated(page, '.red-ui-tray:last');
      const errsServer = errors.take();
      check(
        fields.url === 1 && fields.authMode === 1 && fields.login && !fields.token && errsServer.length === 0 && rawServer.length === 0,
        `[${lang}] era-server: config dialog opens cleanly from a node's server field`,
        [JSON.stringify(fields), ...errsServer, rawServer.length ? `untranslated: ${rawServer.join(', ')}` : ''].join('; '),
      );
      if (shots.simUrl) {
        // Fill it in as the examples' Comments say, and try "Test connection" against the simulator.
        await page.fill('#node-config-input-name', 'Era simulator');
        await page.fill('#node-config-input-url', shots.simUrl);
        await page.fill('#node-config-input-domain', 'demo.local');
        await page.fill('#node-config-input-login', 'operator');
        await page.fill('#node-config-input-password', 'operator');
        await page.click('#era-server-test');
        await page.waitForSelector('#era-server-test-result.era-server-ok, #era-server-test-result.era-server-fail', { timeout: 20000 }).catch(() => undefined);
        const result = await page.evaluate(() => ({ ok: $('#era-server-test-result').hasClass('era-server-ok'), text: $('#era-server-test-result').text() }));
        const errsTest = errors.take();
        check(result.ok && errsTest.length === 0, `[${lang}] era-server: "Test connection" reaches the simulator`, [result.text, ...errsTest].join('; '));
        await page.locator('#era-server-test').blur();
        await page.waitForTimeout(300);
        if (shots.server) await page.locator('.red-ui-tray').last().screenshot({ path: shots.server });
      }
    }
    await closeTrays(page);
  }
}

async function checkExamples(page: Page, errors: ErrorWatch): Promise<void> {
  // Import → Examples: the editor reads the list and each flow from the runtime's examples library.
  const lib = 'library/examples/flows/@era-cti/node-red-era';
  const listed = await page.evaluate(async (p: string) => {
    const res = await fetch(p, { headers: { Accept: 'application/json' } });
    const entries = (await res.json()) as Array<{ fn?: string }>;
    return entries.map((e) => e.fn || '').filter(Boolean);
  }, lib);
  const expected = EXAMPLES.map((f) => f.replace(/\.json$/, ''));
  check(
    JSON.stringify(listed) === JSON.stringify(expected),
    'Import → Examples lists every example under @era-cti/node-red-era',
    `listed: ${listed.join(', ') || 'nothing'}`,
  );

  errors.take();
  for (const name of expected) {
    const file = `${name}.json`;
    const flow = readExample(file);
    const result = await page.evaluate(
      async ({ p, n }: { p: string; n: string }) => {
        const nodes = (await (await fetch(`${p}/${n}`, { headers: { Accept: 'application/json' } })).json()) as any[];
        const before = new Set<string>();
        RED.nodes.eachNode((x: any) => before.add(x.id));
        RED.view.importNodes(nodes, { generateIds: true, addFlow: true });
        const added: any[] = [];
        RED.nodes.eachNode((x: any) => {
          if (!before.has(x.id)) added.push(x);
        });
        // The shared era-server: imported once, reused by later examples; checked with each.
        const ids = new Set<string>(added.map((x) => x.id));
        const problems: string[] = [];
        for (const x of added) {
          if (x.type.indexOf('era-') !== 0) continue;
          const server = RED.nodes.node(x.server);
          if (!server || server.type !== 'era-server') problems.push(`${x.type} "${x.name || x.id}" has no era-server`);
          else ids.add(server.id);
        }
        // Config nodes (the era-server, Dashboard 2's base, theme, page and groups) are not flow
        // nodes. (No named function in here: tsx would wrap it in a __name() the page lacks.)
        const configs = nodes.filter((x: any) => (RED.nodes.getType(x.type) || {}).category === 'config').length;
        return { count: added.length, expected: nodes.length - configs, configs, ids: [...ids], problems };
      },
      { p: lib, n: name },
    );
    await page.waitForTimeout(200);
    result.problems.push(...(await invalidNodes(page, result.ids)));
    const errs = errors.take();
    check(
      result.count === result.expected && result.expected + result.configs === flow.length && result.problems.length === 0 && errs.length === 0,
      `example ${file}: imports from Import → Examples with every node, its server included, known and valid`,
      [result.count !== result.expected ? `${result.count} of ${result.expected} nodes imported` : '', ...result.problems, ...errs].filter(Boolean).join('; '),
    );
    const inDialogs = await dialogProblems(page, result.ids);
    const dialogErrs = errors.take();
    check(
      inDialogs.length === 0 && dialogErrs.length === 0,
      `example ${file}: every Era node's dialog opens with no red field, and Done keeps it valid with the defaults`,
      [...inDialogs, ...dialogErrs].join('; '),
    );
  }
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

  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    cleanup.push(() => browser.close());
    await checkDemoStart(browser, cleanup);

    // The examples' port when it is free, so the screenshots show what a user types.
    const sim = await startSimulator({ port: 8088 }).catch(() => startSimulator({ port: 0 }));
    cleanup.push(() => sim.stop());
    const userDir = makeUserDir('editor');
    cleanup.push(() => fs.rmSync(userDir, { recursive: true, force: true }));
    const red = await startNodeRed(userDir, await freePort());
    cleanup.push(() => stopChild(red.child));
    console.log(`Node-RED ${red.url} (user dir ${userDir}), simulator ${sim.url}, Chromium ${CHROMIUM}`);
    await deployShowcase(red.url, sim);

    console.log('English editor');
    {
      const { page, errors, close } = await openEditor(browser, red.url, 'en-US');
      const lang = await page.evaluate(() => RED.i18n.lang());
      check(/^en/.test(lang), '[en] the editor runs in English', lang);
      const startErrors = errors.take();
      check(startErrors.length === 0, '[en] the editor loads with no console error', startErrors.join('; '));
      await checkPalette(page, 'en');

      // The deployed showcase flow, connected to the simulator: the flow screenshot.
      await page.waitForFunction(() => $('.red-ui-flow-node-status-label').text().length > 0, null, { timeout: 15000 }).catch(() => undefined);
      const status = await page.evaluate(() => $('.red-ui-flow-node-status-label').map((_i: number, e: any) => $(e).text()).get().join(', '));
      check(/connected/i.test(status), '[en] the deployed example shows its connection status', status || 'no status');
      // A call through the simulator: the deployed flow pops the caller's card into the debug sidebar.
      await page.evaluate(() => RED.sidebar.show('debug'));
      await sim.startCall({ from: '+79161234563', to: '101' });
      await page
        .waitForFunction(() => $('.red-ui-debug-msg').text().indexOf('screen-pop/101') !== -1, null, { timeout: 15000 })
        .catch(() => undefined);
      const debugText = await page.evaluate(() => $('.red-ui-debug-msg').text());
      check(/screen-pop\/101/.test(debugText) && /John Smith/.test(debugText), '[en] a call pops the caller\'s card in the debug sidebar', debugText.slice(0, 200) || 'no debug message');
      errors.take();
      if (SHOTS) {
        await page.evaluate(() => {
          // Open the screen-pop object and bring the Era palette into view.
          $('.red-ui-debug-msg .red-ui-debug-msg-object-header').first().trigger('click');
          document.getElementById('red-ui-palette-container-Era')?.scrollIntoView();
          RED.view.select({ nodes: [] });
        });
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(SHOTS, 'flow.png') });
        // The palette with only the Era category open.
        await page.evaluate(() => {
          $('#red-ui-palette-container .red-ui-palette-category').each((_i: number, e: any) => {
            const category = $(e).data('category');
            const content = $(e).find('.red-ui-palette-content');
            if (category === 'Era') content.show();
            else content.hide();
          });
          document.getElementById('red-ui-palette-container-Era')?.scrollIntoView();
        });
        await page.waitForTimeout(200);
        await page.locator('#red-ui-palette').screenshot({ path: path.join(SHOTS, 'palette.png') });
      }
      await page.evaluate(() => RED.workspaces.add());
      await checkDialogs(page, errors, 'en', { simUrl: sim.url, server: SHOTS && path.join(SHOTS, 'dialog-era-server.png') });
      await checkExamples(page, errors);
      await close();
    }

    console.log('A flow saved by the first release');
    await checkOldFlow(browser, red.url, sim);

    console.log('A stored password and a changed URL');
    await checkStoredSecret(browser, red.url, sim);

    console.log('Russian editor');
    {
      const { page, errors, close } = await openEditor(browser, red.url, 'ru-RU');
      const lang = await page.evaluate(() => RED.i18n.lang());
      check(/^ru/.test(lang), '[ru] the editor runs in Russian', lang);
      errors.take();
      await checkPalette(page, 'ru');
      const labels = await page.evaluate(() =>
        $('#red-ui-palette-container .red-ui-palette-node[data-palette-type^="era-"] .red-ui-palette-label').map((_i: number, e: any) => $(e).text()).get(),
      );
      check(labels.some((l: string) => /[А-Яа-яЁё]/.test(l)), '[ru] palette labels are in Russian', labels.join(', '));
      await page.evaluate(() => RED.workspaces.add());
      await checkDialogs(page, errors, 'ru', { ru: SHOTS && path.join(SHOTS, 'dialog-ru.png') });
      await close();
    }
  } finally {
    await runCleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main()
  .catch((err: unknown) => {
    fail(`the run itself: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  })
  .finally(() => {
    const { passed, failures } = tally();
    console.log('');
    if (failures.length) {
      console.log('Failures:');
      for (const f of failures) console.log(`  - ${f}`);
    }
    console.log(`editor: ${passed} passed, ${failures.length} failed`);
    process.exitCode = failures.length ? 1 : 0;
  });
