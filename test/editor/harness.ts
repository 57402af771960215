/**
 * What the parts of the editor test share: the checks' tally, Chromium, ports, child
 * processes and an editor page with its errors watched.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
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
