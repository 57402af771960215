/** era-events in a real Node-RED: the connection's status as the editor shows it, and a call's events. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { SimEvent } from '../../../src/simulator';
import type { Case } from '../support/case';
import { ID } from '../support/flow';
import { installedFile } from '../support/package';
import { logUntil, type LogEntry } from '../support/probe';

/** "connected" as the installed package's catalogs say it (the runtime's language decides which). */
function connectedTexts(userDir: string): string[] {
  return ['en-US', 'ru'].map((lang) => {
    const catalog = JSON.parse(fs.readFileSync(installedFile(userDir, 'dist', 'nodes', 'locales', lang, 'era-server.json'), 'utf8')) as {
      status: { connected: string };
    };
    return catalog.status.connected;
  });
}

export function eraEvents(c: Case): void {
  describe('era-events', function () {
    statusConnected(c);
    callEvents(c);
  });
}

function statusConnected(c: Case): void {
  it('shows era-events connected as the editor sees it (/comms status/#: a green dot, translated)', async function () {
    const status = await c.comms.until(ID.events, (s) => s.fill === 'green', 'green');
    assert.equal(status.shape, 'dot');
    assert.ok(connectedTexts(c.red.userDir).includes(String(status.text)), `a translated text, not a key: ${status.text}`);
  });
}

function callEvents(c: Case): void {
  it("emits a simulator call's events once each, in the platform's order, with msg.call", async function () {
    const produced: SimEvent[] = [];
    const record = (e: SimEvent) => produced.push(e);
    c.sim.on('event', record);
    try {
      const call = await c.ctl.startCall({ from: '+79161234567', to: '101' });
      await c.ctl.answer(call.id);
      await c.ctl.hangup(call.id);
      const mine = (tag: string, topic?: string) => (e: { tag: string; connectionId?: string; topic?: string }) =>
        e.tag === tag && e.connectionId === call.connectionid && (topic === undefined || e.topic === topic);
      const log = await logUntil(c.red, (l) => l.some(mine('events', 'callevents.dlg_stop')), "the call's dlg_stop");
      const expected = produced.filter((e) => e.class === 'callevents' && e.data.connectionid === call.connectionid).map((e) => `callevents.${e.type} ${e.data.eventid}`);
      const emitted = log.filter(mine('events')).map((e) => `${e.topic} ${e.eventId}`);
      assert.deepEqual(emitted, expected);
      const started = log.find(mine('events', 'callevents.dlg_start'));
      assert.equal(started?.callId, call.cid);
      assert.equal(started?.call?.state, 'talking');
      assert.equal(started?.call?.from, '+79161234567');
      assert.equal(log.find(mine('events', 'callevents.dlg_end'))?.call?.state, 'ended');
    } finally {
      c.sim.off('event', record);
    }
  });
}

/** The editor's Deploy button (full) while a call is ringing: the new flows report the rest of the call, nothing twice. */
export function redeployMidCall(c: Case): void {
  describe('a full redeploy mid-call', function () {
    it("emits the rest of the call's events once each after POST /flows", async function () {
      const call = await c.ctl.startCall({ from: '+79165550000', to: '105' });
      await logUntil(c.red, (l) => l.some((e) => e.tag === 'events' && e.connectionId === call.connectionid && e.topic === 'callevents.invite'), "the call's invite");
      const before = new Set((await c.ctl.subscriptions()).map((s) => `${s.connectionId} ${s.id}`));
      await c.deploy();
      // The new flows' own subscription, so that what follows is heard live.
      for (let i = 0; i < 100; i++) {
        const now = (await c.ctl.subscriptions()).map((s) => `${s.connectionId} ${s.id}`);
        if (now.length > 0 && now.every((s) => !before.has(s))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await c.ctl.answer(call.id);
      await c.ctl.hangup(call.id);
      const mine = (e: LogEntry) => e.tag === 'events' && e.connectionId === call.connectionid;
      const log = await logUntil(c.red, (l) => l.some((e) => mine(e) && e.topic === 'callevents.dlg_stop'), "the call's dlg_stop");
      const topics = log.filter(mine).map((e) => e.topic);
      for (const topic of ['callevents.invite', 'callevents.dlg_start', 'callevents.dlg_end', 'callevents.dlg_stop']) {
        assert.equal(topics.filter((t) => t === topic).length, 1, `${topic} once in ${JSON.stringify(topics)}`);
      }
      const ids = log.filter(mine).map((e) => e.eventId);
      assert.equal(new Set(ids).size, ids.length, 'no event emitted twice');
      assert.equal(log.filter(mine).find((e) => e.topic === 'callevents.dlg_start')?.call?.from, '+79165550000', 'msg.call still knows the call');
    });
  });
}
