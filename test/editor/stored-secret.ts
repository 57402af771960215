/**
 * A stored password stays with the platform it was typed for, through the editor as users use
 * it: a deployed era-server whose URL is changed in its dialog, the password left untouched,
 * deploys with no password (it must be typed again) — nothing reaches the other host — and once
 * typed again the server connects and the secret is marked for the new URL.
 *
 * The other URL is the same simulator by another name (localhost for 127.0.0.1): had the old
 * password gone with the deploy, the server would have connected, so a red status shows it did not.
 */
import type { Browser, Page } from 'playwright-core';
import type { Simulator } from '../../src/simulator';
import { check, openEditor } from './harness';
import { deploy } from './old-flow';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

interface StoredCredentials {
  login?: string;
  has_password?: boolean;
  secretFor?: string;
}

function credentials(page: Page): Promise<StoredCredentials> {
  return page.evaluate(async () => (await (await fetch('credentials/era-server/ss-server')).json()) as StoredCredentials);
}

function eventsFill(page: Page): Promise<string> {
  return page.evaluate(() => String(RED.nodes.node('ss-events')?.status?.fill ?? ''));
}

/** Opens the server's dialog, sets the fields given (ids without the prefix), presses Done. */
async function editServer(page: Page, values: Record<string, string>): Promise<void> {
  await page.evaluate(() => RED.editor.editConfig('', 'era-server', 'ss-server'));
  await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10000 });
  await page.waitForTimeout(300);
  for (const [field, value] of Object.entries(values)) await page.fill(`#node-config-input-${field}`, value);
  await page.click('#node-config-dialog-ok');
  await page.waitForFunction(() => $('.red-ui-tray').length === 0, null, { timeout: 10000 });
}

export async function checkStoredSecret(browser: Browser, url: string, sim: Simulator): Promise<void> {
  const other = sim.url.replace('127.0.0.1', 'localhost');
  const flow = [
    { id: 'ss-tab', type: 'tab', label: 'stored secret' },
    { id: 'ss-server', type: 'era-server', name: 'secret check', url: sim.url, authMode: 'user', domain: 'demo.local', credentials: { login: 'operator', password: 'operator' } },
    { id: 'ss-events', type: 'era-events', z: 'ss-tab', server: 'ss-server', events: 'callevents.*', x: 200, y: 100, wires: [] },
  ];
  const { page, close } = await openEditor(browser, url, 'en-US');
  try {
    await page.evaluate((nodes: unknown[]) => RED.view.importNodes(nodes, { addFlow: false }), flow);
    await page.waitForTimeout(300);
    const first = await deploy(page);
    await page.waitForFunction(() => RED.nodes.node('ss-events')?.status?.fill === 'green', null, { timeout: 15000 }).catch(() => undefined);
    check(first.ok && (await eventsFill(page)) === 'green', 'stored secret: the server deploys and connects with the password typed', first.warning || (await eventsFill(page)));

    await editServer(page, { url: other });
    const moved = await deploy(page);
    await page.waitForTimeout(2000);
    const afterMove = await credentials(page);
    const fill = await eventsFill(page);
    check(
      moved.ok && afterMove.has_password === false && fill !== 'green',
      'stored secret: a URL changed with the password untouched deploys without the password (not sent to the other host)',
      `deployed ${moved.ok}, has_password ${String(afterMove.has_password)}, status ${fill || 'none'}`,
    );

    await editServer(page, { password: 'operator' });
    const retyped = await deploy(page);
    await page.waitForFunction(() => RED.nodes.node('ss-events')?.status?.fill === 'green', null, { timeout: 15000 }).catch(() => undefined);
    const afterTyping = await credentials(page);
    const markedFor = JSON.parse(afterTyping.secretFor ?? '[]') as unknown[];
    check(
      retyped.ok && afterTyping.has_password === true && (await eventsFill(page)) === 'green' && markedFor[0] === other,
      'stored secret: typed again, the password is marked for the new URL and the server connects',
      `has_password ${String(afterTyping.has_password)}, secretFor ${String(afterTyping.secretFor)}, status ${await eventsFill(page)}`,
    );
  } finally {
    // Leave the editor's flows as they were for the checks that follow.
    await page.evaluate(() => {
      const tab = RED.nodes.workspace('ss-tab');
      if (tab) RED.workspaces.delete(tab);
      const server = RED.nodes.node('ss-server');
      if (server) RED.nodes.remove('ss-server');
    }).catch(() => undefined);
    await deploy(page).catch(() => undefined);
    await close();
  }
}
