/**
 * Imported nodes as the editor judges them. A node can pass `valid` on the canvas and still
 * show a red field the moment its dialog opens: a property the flow leaves out is shown empty,
 * and the field's validator refused the empty value. So both are looked at: the validity
 * the editor computes (RED.editor.validateNode, config nodes included), and each node's edit
 * dialog — no field marked red, and after Done the node still valid with every property it
 * lacked now holding its default (Done must not turn a ticked default into an unticked box).
 */
import type { Page } from 'playwright-core';

// The editor's globals, inside page.evaluate callbacks.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

/** What RED.editor.validateNode makes of each node: "" when valid, else what is wrong. */
export function invalidNodes(page: Page, ids: string[]): Promise<string[]> {
  return page.evaluate((list: string[]) => {
    const problems: string[] = [];
    for (const id of list) {
      const n = RED.nodes.node(id);
      if (!n) {
        problems.push(`${id} is not in the editor`);
        continue;
      }
      if (n.type === 'unknown' || !RED.nodes.getType(n.type)) {
        problems.push(`unknown type ${n.type}`);
        continue;
      }
      const valid = RED.editor.validateNode(n);
      const errors: string[] = n.validationErrors || [];
      if (!valid || errors.length) problems.push(`invalid ${n.type} "${n.name || n.id}"${errors.length ? ` (${errors.join(', ')})` : ''}`);
    }
    return problems;
  }, ids);
}

/** Opens the edit dialog of each Era node among `ids`, looks for red fields, presses Done and checks the node again. */
export async function dialogProblems(page: Page, ids: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const id of ids) {
    const node = await page.evaluate((nid: string) => {
      const n = RED.nodes.node(nid);
      if (!n || n.type.indexOf('era-') !== 0) return undefined;
      const defaults = n._def.defaults;
      const absent = Object.keys(defaults).filter((p) => (n[p] === undefined || n[p] === null) && defaults[p].value !== undefined);
      const config = n._def.category === 'config';
      if (config) RED.editor.editConfig('', n.type, n.id);
      else RED.editor.edit(n);
      return { type: n.type as string, label: `${n.type} "${n.name || n.id}"`, absent, config };
    }, id);
    if (!node) continue;
    const ok = node.config ? '#node-config-dialog-ok' : '#node-dialog-ok';
    await page.waitForSelector(ok, { state: 'visible', timeout: 10000 });
    await page.waitForTimeout(300);
    const red = await page.evaluate(() =>
      $('.red-ui-tray:last .input-error')
        .map((_i: number, e: any) => String(e.id || $(e).prev('input').attr('id') || e.className).replace(/^node-(config-)?input-/, ''))
        .get(),
    );
    if (red.length) problems.push(`${node.label}: its dialog shows ${red.join(', ')} red`);
    await page.click(ok);
    await page.waitForFunction(() => $('.red-ui-tray').length === 0, null, { timeout: 10000 });
    const after = await page.evaluate(
      ({ nid, absent }: { nid: string; absent: string[] }) => {
        const n = RED.nodes.node(nid);
        const valid = RED.editor.validateNode(n);
        const changed = absent.filter((p) => String(n[p]) !== String(n._def.defaults[p].value)).map((p) => `${p}=${JSON.stringify(n[p])}`);
        return { valid, errors: (n.validationErrors || []) as string[], changed };
      },
      { nid: id, absent: node.absent },
    );
    if (!after.valid || after.errors.length) problems.push(`${node.label}: invalid after Done${after.errors.length ? ` (${after.errors.join(', ')})` : ''}`);
    if (after.changed.length) problems.push(`${node.label}: Done saved other than the defaults for what the flow left out: ${after.changed.join(', ')}`);
  }
  return problems;
}
