/**
 * `npm start` as a newcomer meets it: the real launcher (package.json's start script, on free
 * ports, in a user directory of its own) and the editor it opens, with nothing over the
 * workspace — no "Enable Update Notifications" dialog, no welcome tour, no notification —
 * and the demo flow's nodes in view. Twice: in a new user directory, and in one an older
 * launcher left (Node-RED's own copy of its default settings, which asks those questions).
 * Ctrl+C must end the launcher and its Node-RED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { demoFlow } from '../../src/demo/flow';
import { check, freePort, openEditor, root } from './harness';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;
declare const document: any;

/** The demo's nodes drawn on its tab (its config node is not). */
const DEMO_NODES = demoFlow('http://127.0.0.1')
  .filter((n) => typeof n.z === 'string')
  .map((n) => String(n.id));

interface Launcher {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Set once its process group is gone: the group id may then be another's. */
  ended: boolean;
}

/** `npm start` in its own process group, as a terminal runs it; resolves once it prints the editor's address. */
async function startDemo(userDir: string, simPort: number, redPort: number): Promise<Launcher> {
  const child = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ERA_SIM_PORT: String(simPort), NODE_RED_PORT: String(redPort), NODE_RED_USER_DIR: userDir },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no editor address within 90 s:\n${output}`)), 90_000);
    const read = (d: Buffer) => {
      output += d.toString();
      const m = /Node-RED editor: (http\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  return { child, url, output: () => output, ended: false };
}

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl+C, as a terminal sends it (SIGINT to the whole group); true when every process ended within 20 s. */
async function pressCtrlC(launcher: Launcher): Promise<boolean> {
  const pgid = launcher.child.pid as number;
  if (launcher.ended || !groupAlive(pgid)) return (launcher.ended = true);
  process.kill(-pgid, 'SIGINT');
  for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 200));
  const stopped = !groupAlive(pgid);
  if (!stopped) process.kill(-pgid, 'SIGKILL');
  launcher.ended = true;
  return stopped;
}

/** What covers the workspace, and which of the demo's nodes cannot be seen or clicked. */
async function workspaceView(page: Page, ids: string[]): Promise<{ covering: string[]; hidden: string[] }> {
  return page.evaluate((nodeIds: string[]) => {
    // Offending elements and where they were met; described at the end (no named helper:
    // the page has no __name, which tsx adds to named functions).
    const found: Array<{ el: any; where: string; hidden?: string }> = [];
    // Node-RED's dialogs, popovers (the tour is made of them), notifications and edit trays.
    $('.ui-dialog:visible, .red-ui-popover:visible, .red-ui-notification:visible, .red-ui-tray:visible').each((_i: number, e: any) => {
      found.push({ el: e, where: `: ${$(e).text().trim().slice(0, 80)}` });
    });
    // A grid of points over the workspace: each must reach the workspace itself. Node-RED 5
    // lays its sidebars and palette over the edges of the workspace's box: the grid covers what
    // they leave in view.
    const chart = document.getElementById('red-ui-workspace-chart');
    const box = chart.getBoundingClientRect();
    let left = box.left;
    let right = box.right;
    $('#red-ui-sidebar:visible, #red-ui-sidebar-left:visible, #red-ui-palette:visible').each((_i: number, e: any) => {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.bottom <= box.top || r.top >= box.bottom) return;
      if (r.left >= box.left + box.width / 2) right = Math.min(right, r.left);
      else if (r.right <= box.left + box.width / 2) left = Math.max(left, r.right);
    });
    const width = right - left;
    for (let i = 1; i < 8; i++) {
      for (let j = 1; j < 8; j++) {
        const hit = document.elementFromPoint(left + (width * i) / 8, box.top + (box.height * j) / 8);
        if (!hit || !chart.contains(hit)) found.push({ el: hit, where: ' over the workspace' });
      }
    }
    // Each node of the demo: drawn inside the visible workspace, and what a click at its middle reaches.
    for (const id of nodeIds) {
      const g = document.getElementById(id);
      const r = g && g.getBoundingClientRect();
      const x = r ? r.left + r.width / 2 : -1;
      const y = r ? r.top + r.height / 2 : -1;
      const inside = r && r.width > 0 && x > left && x < right && y > box.top && y < box.bottom;
      const hit = inside ? document.elementFromPoint(x, y) : null;
      if (!hit || !g.contains(hit)) found.push({ el: hit, where: inside ? '' : ' (not in view)', hidden: id });
    }
    const described = found.map((f) => ({
      hidden: f.hidden,
      text: `${f.el ? `${f.el.tagName.toLowerCase()}${f.el.id ? `#${f.el.id}` : ''}${typeof f.el.className === 'string' && f.el.className ? `.${f.el.className.trim().split(/\s+/).join('.')}` : ''}` : 'nothing'}${f.where}`,
    }));
    const counts: Record<string, number> = {};
    for (const d of described.filter((x) => !x.hidden)) counts[d.text] = (counts[d.text] ?? 0) + 1;
    return {
      covering: Object.keys(counts).map((t) => (counts[t] > 1 ? `${t} (${counts[t]} of 49 points)` : t)),
      hidden: described.filter((d) => d.hidden).map((d) => `${d.hidden} under ${d.text}`),
    };
  }, ids);
}

/** Opens the editor the launcher printed and checks what a newcomer sees. */
async function checkEditor(browser: Browser, launcher: Launcher, when: string): Promise<void> {
  const { page, errors, close } = await openEditor(browser, launcher.url, 'en-US');
  try {
    // The telemetry question comes 100 ms after the editor has loaded, the tour after it.
    await page.waitForTimeout(3000);
    const view = await workspaceView(page, DEMO_NODES);
    check(view.covering.length === 0, `npm start (${when}): nothing covers the workspace`, view.covering.join('; '));
    check(view.hidden.length === 0, `npm start (${when}): the demo flow's ${DEMO_NODES.length} nodes are in view`, view.hidden.join('; '));
    // The palette manager's catalogue is on the internet, which a test machine may not reach:
    // the demo keeps that default, so its failed request (and the console line it makes) is
    // not the editor's error.
    const errs = errors.take().filter((e) => !/catalogue\.nodered\.org|Failed to load resource: net::ERR_NAME_NOT_RESOLVED/.test(e));
    check(errs.length === 0, `npm start (${when}): the editor loads with no console error`, errs.join('; '));
  } finally {
    await close();
  }
}

/** `cleanup` gets a step that ends a launcher still running (the test interrupted). */
export async function checkDemoStart(browser: Browser, cleanup: Array<() => Promise<unknown> | void>): Promise<void> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'era-demo-'));
  // The same ports both times, as a user runs it again.
  const [simPort, redPort] = [await freePort(), await freePort()];
  try {
    console.log(`npm start (user dir ${userDir})`);
    for (const when of ['a new user directory', 'an older run\'s user directory']) {
      if (when !== 'a new user directory') {
        // What an older `npm start` left: Node-RED's copy of its default settings.
        fs.copyFileSync(require.resolve('node-red/settings.js', { paths: [root] }), path.join(userDir, 'settings.js'));
      }
      const launcher = await startDemo(userDir, simPort, redPort);
      cleanup.push(() => pressCtrlC(launcher));
      try {
        await checkEditor(browser, launcher, when);
      } finally {
        check(await pressCtrlC(launcher), `npm start (${when}): Ctrl+C ends the launcher, Node-RED and the simulator`, launcher.output().slice(-500));
      }
    }
  } finally {
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}
