/**
 * What the parts of the editor test share: the checks' tally, Chromium, ports, child
 * processes and an editor page with its errors watched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { flowsLoaded } from '../../src/demo/node-red';
import type { Browser, Page } from 'playwright-core';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

export const root = path.resolve(__dirname, '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** FlowFuse Dashboard 2 (a devDependency): the wallboard and operator-panel examples use its widgets. */
export const DASHBOARD = path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json', { paths: [root] }));

/**
 * A fresh Node-RED user dir with this checkout and Dashboard 2 installed as `npm install <path>`
 * would, and a settings file: telemetry answered, the tour off, `extra` lines added.
 */
export function makeUserDir(name: string, extra = ''): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `era-${name}-`));
  for (const [scope, pkg, target] of [['@era-cti', 'node-red-era', root], ['@flowfuse', 'node-red-dashboard', DASHBOARD]] as const) {
    fs.mkdirSync(path.join(dir, 'node_modules', scope), { recursive: true });
    fs.symlinkSync(target, path.join(dir, 'node_modules', scope, pkg), 'dir');
  }
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: `era-${name}-test`, private: true, dependencies: { '@era-cti/node-red-era': `file:${root}`, '@flowfuse/node-red-dashboard': '*' } }, null, 2),
  );
  fs.writeFileSync(
    path.join(dir, 'settings.js'),
    `module.exports = {
    flowFile: 'flows.json',
    credentialSecret: 'era-${name}-test',
    uiHost: '127.0.0.1',
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    logging: { console: { level: 'warn' } },${extra}
};
`,
  );
  return dir;
}

/** Node-RED started on `port` with `userDir`, once it has loaded its flows. */
export async function startNodeRed(userDir: string, port: number): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const redMain = require.resolve('node-red/red.js', { paths: [root] });
  let output = '';
  const child = spawn(process.execPath, [redMain, '--userDir', userDir, '--port', String(port)], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}/`;
  try {
    await flowsLoaded(url, child);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}:\n${output}`);
  }
  return { child, url, log: () => output };
}

let passed = 0;
const failures: string[] = [];

/** Records one check: printed at once, and counted for the summary. */
export function check(ok: boolean, what: string, detail = ''): boolean {
  if (ok) {
    passed++;
    console.log(`  ✔ ${what}`);
  } else {
    failures.push(`${what}${detail ? `: ${detail}` : ''}`);
    console.log(`  ✘ ${what}${detail ? `\n      ${detail}` : ''}`);
  }
  return ok;
}

/** A failure outside any check (the run itself broke). */
export function fail(what: string): void {
  failures.push(what);
}

export function tally(): { passed: number; failures: readonly string[] } {
  return { passed, failures };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface ErrorWatch {
  take(): string[];
}

/** Console errors, uncaught exceptions and failed requests of a page since the last take(). */
function watchErrors(page: Page): ErrorWatch {
  let errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return {
    take() {
      const out = errors;
      errors = [];
      return out;
    },
  };
}

export async function openEditor(browser: Browser, url: string, locale: string): Promise<{ page: Page; errors: ErrorWatch; close(): Promise<void> }> {
  const context = await browser.newContext({ locale, viewport: { width: 1680, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes && RED.nodes.getType('era-wait') && $('#red-ui-palette-container .red-ui-palette-node').length > 0, null, {
    timeout: 60000,
  });
  // The loading screen fades out; the workspace is ready when a tab is active.
  await page.waitForFunction(() => !!RED.workspaces.active() && $('#red-ui-main-container').is(':visible'), null, { timeout: 30000 });
  await page.waitForTimeout(500);
  return { page, errors, close: () => context.close() };
}

export async function closeTrays(page: Page): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const open = await page.evaluate(() => $('.red-ui-tray').length);
    if (!open) return;
    await page.evaluate(() => RED.tray.close());
    await page.waitForTimeout(250);
  }
}
