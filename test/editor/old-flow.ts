/**
 * A flow saved by the package's first release (test/fixtures/old-flows/first-release.json),
 * imported into today's editor: no node invalid, deployed with the Deploy button without the
 * "improperly configured nodes" warning, its server connected, the properties it lacked still
 * absent from the deployed flow, and every dialog without a red field.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Simulator } from '../../src/simulator';
import { check, openEditor, root } from './harness';
import { dialogProblems, invalidNodes } from './imported';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

type FlowNode = Record<string, unknown> & { id: string; type: string };

const FIXTURE = path.join(root, 'test', 'fixtures', 'old-flows', 'first-release.json');

/** Clicks Deploy; what came of it: the success notification, or the warning that held it back. */
export async function deploy(page: Page): Promise<{ ok: boolean; warning: string }> {
  await page.click('#red-ui-header-button-deploy');
  // Other notifications (the import's) may be up: wait for the deploy's own.
  const outcome = await page
    .waitForFunction(
      () => {
        const ok = RED._('deploy.successfulDeploy');
        const shown = $('.red-ui-notification:visible')
          .map((_i: number, e: any) => $(e).text())
          .get() as string[];
        const warning = $('#red-ui-deploy-dialog-confirm-deploy-deploy').closest('.red-ui-notification').text() as string;
        return shown.some((t) => t.includes(ok)) ? { ok: true, warning: '' } : warning ? { ok: false, warning } : false;
      },
      null,
      { timeout: 20000 },
    )
    .then((h) => h.jsonValue() as Promise<{ ok: boolean; warning: string }>)
    .catch(() => ({ ok: false, warning: '' }));
  if (outcome.warning) {
    // The warning waits for an answer: cancel, so nothing is deployed behind it.
    await page.evaluate(() =>
      $('#red-ui-deploy-dialog-confirm-deploy-deploy')
        .closest('.red-ui-notification')
        .find('button')
        .filter((_i: number, b: any) => $(b).text() === RED._('common.label.cancel'))
        .trigger('click'),
    );
  }
  return outcome;
}

export async function checkOldFlow(browser: Browser, url: string, sim: Simulator): Promise<void> {
  const saved = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as FlowNode[];
  // Pointed at the simulator, with the credentials a user would type (a saved flow has none).
  const flow = saved.map((n) => (n.type === 'era-server' ? { ...n, url: sim.url, credentials: { login: 'operator', password: 'operator' } } : n));
  const ids = saved.filter((n) => n.type !== 'tab').map((n) => n.id);
  const { page, errors, close } = await openEditor(browser, url, 'en-US');
  try {
    await page.evaluate((nodes: FlowNode[]) => RED.view.importNodes(nodes, { addFlow: false }), flow);
    await page.waitForTimeout(300);
    const invalid = await invalidNodes(page, ids);
    check(invalid.length === 0, 'first-release flow: imports with every node, its server included, valid', invalid.join('; '));

    const result = await deploy(page);
    check(result.ok, 'first-release flow: Deploy deploys it with no warning (no "improperly configured" nodes)', result.warning || 'no success notification');

    const deployed = await page.evaluate(async () => (await (await fetch('flows', { headers: { 'Node-RED-API-Version': 'v1' } })).json()) as FlowNode[]);
    const server = deployed.find((n) => n.id === 'fr-server');
    const wait = deployed.find((n) => n.id === 'fr-wait');
    const added = [...['maxCalls', 'cluster', 'redisUrl', 'clusterName'].filter((p) => server && p in server), ...(wait && 'maxWaits' in wait ? ['maxWaits'] : [])];
    check(!!server && !!wait && added.length === 0, 'first-release flow: deployed as saved, the properties added since still absent', added.length ? `added: ${added.join(', ')}` : 'not deployed');

    await page.waitForFunction(() => (RED.nodes.node('fr-events')?.status?.fill ?? '') === 'green', null, { timeout: 15000 }).catch(() => undefined);
    const status = await page.evaluate(() => RED.nodes.node('fr-events')?.status ?? {});
    check(status.fill === 'green', 'first-release flow: its era-events node shows the server connected', JSON.stringify(status));

    const inDialogs = await dialogProblems(page, ids);
    const errs = errors.take();
    check(inDialogs.length === 0 && errs.length === 0, 'first-release flow: every Era node\'s dialog opens with no red field, and Done keeps it valid with the defaults', [...inDialogs, ...errs].join('; '));
  } finally {
    await close();
  }
}
