import assert from 'node:assert/strict';
import { Backoff } from '../../src/era/util/backoff';
import { compilePatterns, matchesAny, matchesPattern, unionOf } from '../../src/era/events/patterns';
import { decodeFrame, encodeAck, encodeRequest, type FrameSink, type UndecodableReason } from '../../src/era/protocol/frames';
import { errorBodyText, excerpt, replyError, isUnknownMethodReply } from '../../src/era/protocol/replies';
import { grantedExpires } from '../../src/era/protocol/subscriptions';
import { listedCalls } from '../../src/era/protocol/call-list';
import { loginRequest, sessionFromLogin, sessionHeaders, cookieValue, isBanAnswer, sessionIdFrom } from '../../src/era/protocol/session';
import { recordLinkFromRest, recordLinkFromWs } from '../../src/era/protocol/recordings';
import { capabilityResults, setupParams, wsLoginByPassword, wsLoginBySession } from '../../src/era/protocol/setup';
import type { EraEvent, JsonObject } from '../../src/era/types';

interface Decoded {
  events: Array<{ ev: EraEvent; sub: unknown; method: string; qid: unknown }>;
  replies: Array<{ qid: unknown; params: JsonObject }>;
  bad: Array<{ reason: UndecodableReason; method: string | undefined; qid: unknown }>;
}

function decode(raw: string): Decoded {
  const out: Decoded = { events: [], replies: [], bad: [] };
  const sink: FrameSink = {
    event: (ev, sub, method, qid) => out.events.push({ ev, sub, method, qid }),
    reply: (qid, params) => out.replies.push({ qid, params }),
    undecodable: (reason, method, qid) => out.bad.push({ reason, method, qid }),
  };
  decodeFrame(raw, sink);
  return out;
}

const FIELDS = { eventid: 'e-1', eventts: 1, cid: 'c-1', connectionid: 'c-1.1', fromnum: '+7999' };

describe('client: protocol', () => {
  describe('event envelopes', () => {
    it('decodes the model envelope ["event", {qid, id, class, type, data}]', () => {
      const d = decode(JSON.stringify(['event', { qid: 17, id: 'sub-1', class: 'callevents', type: 'dlg_start', data: FIELDS }]));
      assert.equal(d.events.length, 1);
      const { ev, sub, method, qid } = d.events[0]!;
      assert.equal(ev.topic, 'callevents.dlg_start');
      assert.equal(ev.class, 'callevents');
      assert.equal(ev.type, 'dlg_start');
      assert.deepEqual(ev.payload, FIELDS);
      assert.equal(ev.eventId, 'e-1');
      assert.equal(ev.connectionId, 'c-1.1');
      assert.equal(ev.callId, 'c-1');
      assert.equal(sub, 'sub-1');
      assert.equal(method, 'event');
      assert.equal(qid, 17);
    });

    for (const [typeKey, classKey] of [['type', 'class'], ['eventtype', 'eventclass'], ['event', 'class'], ['event', 'eventclass']]) {
      it(`decodes flat fields with the type in "${typeKey}" and the class in "${classKey}"`, () => {
        const params = { qid: 3, id: 'sub-2', [typeKey!]: 'invite', [classKey!]: 'callevents', ...FIELDS };
        const d = decode(JSON.stringify(['event', params]));
        assert.equal(d.events.length, 1);
        assert.equal(d.events[0]!.ev.topic, 'callevents.invite');
        assert.equal(d.events[0]!.ev.payload.fromnum, '+7999');
        assert.equal(d.events[0]!.ev.eventId, 'e-1');
        assert.equal(d.events[0]!.sub, 'sub-2');
      });
    }

    it('decodes a method named "<class>.<type>"', () => {
      const d = decode(JSON.stringify(['ccsevents.call_dtmf', { qid: 'q9', ...FIELDS, dtmf: '5' }]));
      assert.equal(d.events.length, 1);
      assert.equal(d.events[0]!.ev.topic, 'ccsevents.call_dtmf');
      assert.equal(d.events[0]!.ev.payload.dtmf, '5');
      assert.equal(d.events[0]!.method, 'ccsevents.call_dtmf');
      assert.equal(d.events[0]!.qid, 'q9');
    });

    it('routes "<method>_result" frames as replies by qid', () => {
      const d = decode('["subscribe_result",{"qid":4,"result":"ok","expires":120}]');
      assert.deepEqual(d.replies, [{ qid: 4, params: { qid: 4, result: 'ok', expires: 120 } }]);
      assert.equal(d.events.length, 0);
    });

    it('reports what it cannot decode instead of throwing', () => {
      assert.equal(decode('{not json').bad[0]!.reason, 'not JSON');
      assert.equal(decode('{"a":1}').bad[0]!.reason, 'not a ["method", {params}] array');
      assert.equal(decode('[1,2]').bad[0]!.reason, 'not a ["method", {params}] array');
      assert.equal(decode('["x", 5]').bad[0]!.reason, 'not a ["method", {params}] array');
      const unknown = decode('["hello",{"qid":5}]').bad[0]!;
      assert.deepEqual(unknown, { reason: 'unknown envelope', method: 'hello', qid: 5 });
      assert.equal(decode('["event",{"class":"callevents"}]').bad[0]!.reason, 'unknown envelope');
    });

    it('keeps numeric ids as text', () => {
      const d = decode(JSON.stringify(['event', { class: 'c', type: 't', data: { eventid: 12, connectionid: 7 } }]));
      assert.equal(d.events[0]!.ev.eventId, '12');
      assert.equal(d.events[0]!.ev.connectionId, '7');
    });
  });

  describe('frames', () => {
    it('encodes requests and acknowledgements', () => {
      assert.deepEqual(JSON.parse(encodeRequest('subscribe', 7, { id: 'a', expires: 0 })), ['subscribe', { id: 'a', expires: 0, qid: 7 }]);
      assert.deepEqual(JSON.parse(encodeAck('event', 17)), ['event_result', { qid: 17, result: 'ok' }]);
      assert.deepEqual(JSON.parse(encodeAck('callevents.invite', 'q"1')), ['callevents.invite_result', { qid: 'q"1', result: 'ok' }]);
    });

    it('reads error replies: an error object, a bare string in error or in result', () => {
      assert.deepEqual(replyError({ qid: 1, result: 'error', error: { code: 403, message: 'no rights' } }, true), { code: 403, message: 'no rights' });
      assert.deepEqual(replyError({ qid: 1, error: 'bad subscription' }, false), { message: 'bad subscription' });
      assert.deepEqual(replyError({ qid: 1, result: 'bad events' }, true), { message: 'bad events' });
      assert.equal(replyError({ qid: 1, result: 'ok' }, true), undefined);
      assert.equal(replyError({ qid: 1, result: 'some data' }, false), undefined);
      assert.ok(replyError({ qid: 1, result: 'error' }, false));
    });

    it('takes the granted lifetime from a subscribe reply', () => {
      assert.equal(grantedExpires({ result: 'ok', expires: 60 }, 300), 60);
      assert.equal(grantedExpires({ result: 'ok' }, 300), 300);
      assert.equal(grantedExpires({ result: 'ok', expires: 0 }, 300), 300);
    });
  });

  describe('login', () => {
    it('asks for a token session and reads the token, every cookie by its own name, and the session id', () => {
      assert.deepEqual(loginRequest('d', 'l', 'p').body, { domain: 'd', login: 'l', pwd: 'p', session_type: 'token' });
      assert.deepEqual(sessionFromLogin({ session_token: 'T', session_id: 'S' }, undefined), { token: 'T', id: 'S' });
      assert.deepEqual(sessionFromLogin({}, ['EraSession=abc; Path=/; HttpOnly']), { cookie: 'EraSession=abc' });
      assert.deepEqual(sessionFromLogin({}, 'RSession=xyz; Path=/'), { cookie: 'RSession=xyz' }, 'the other builds\' cookie');
      assert.deepEqual(sessionFromLogin({}, ['RSession=xyz', 'RSessionId=42']), { cookie: 'RSession=xyz; RSessionId=42' });
      assert.equal(sessionFromLogin({}, 'EraSession=; Path=/'), undefined);
      assert.equal(cookieValue('RSession=xyz; RSessionId=42'), 'xyz');
      assert.equal(sessionIdFrom({ sessionid: 'a' }), 'a');
      assert.equal(sessionIdFrom({ nothing: 1 }), undefined);
      assert.deepEqual(sessionHeaders({ token: 'T' }), { authorization: 'Bearer T' });
      assert.deepEqual(sessionHeaders({ cookie: 'EraSession=abc' }), { cookie: 'EraSession=abc' });
    });

    it('tells a ban from a wrong password', () => {
      assert.equal(isBanAnswer(403, { result: 'error', errormsg: 'forbidden' }), true);
      assert.equal(isBanAnswer(429, null), true);
      assert.equal(isBanAnswer(401, { errormsg: 'wrong password' }), false);
      assert.equal(isBanAnswer(400, { errormsg: 'address banned for 3 minutes' }), true);
      assert.equal(isBanAnswer(200, null), false);
    });
  });

  describe('connection setup', () => {
    it('asks for the package\'s capabilities as {key} objects and logs in both ways', () => {
      assert.deepEqual(setupParams(['subscr', 'callrecord']), { capabilities: [{ key: 'subscr' }, { key: 'callrecord' }] });
      assert.deepEqual(wsLoginBySession('S'), { rsessionid: 'S' });
      assert.deepEqual(wsLoginByPassword('dom', 'l', 'p'), { login: 'l', pwd: 'p', td: 'dom', domain: 'dom' });
    });

    it('reads per-capability results as objects with errormsg, or as bare names', () => {
      const read = capabilityResults({
        result: 'ok',
        capabilities: [{ key: 'subscr', result: 'ok' }, { key: 'test', result: 'error', errormsg: 'Access denied by IAM (route not found)' }, 'ccs'],
      });
      assert.deepEqual([...read!], [
        ['subscr', { ok: true }],
        ['test', { ok: false, errormsg: 'Access denied by IAM (route not found)' }],
        ['ccs', { ok: true }],
      ]);
      assert.equal(capabilityResults({ result: 'ok' }), undefined);
      assert.equal(capabilityResults({ capabilities: [] }), undefined);
    });

    it('recognises an older build\'s answer to a method it does not know, and nothing else', () => {
      assert.equal(isUnknownMethodReply({ message: 'unknown method setup' }, 'setup'), true);
      assert.equal(isUnknownMethodReply({ code: 'unknown_method', message: 'x' }, 'setup'), true);
      assert.equal(isUnknownMethodReply({ message: 'Method not supported' }, 'SEND_DTMF'), true);
      assert.equal(isUnknownMethodReply({ message: 'user login not found' }, 'login'), false);
      assert.equal(isUnknownMethodReply({ message: 'invalid login or password' }, 'login'), false);
      assert.equal(isUnknownMethodReply({ message: 'Access denied by IAM (route not found)' }, 'setup'), false);
    });
  });

  describe('REST bodies', () => {
    it('reads the error object, or an excerpt of anything else', () => {
      assert.equal(errorBodyText({ error: { code: 'not_found', message: 'no call x' } }), 'no call x (code not_found)');
      assert.equal(errorBodyText(null), '');
      assert.equal(errorBodyText('plain trouble'), 'plain trouble');
      const html = `<html><head><style>p{color:red}</style></head><body><h1>502   Bad
        Gateway</h1><p>nginx</p>${'<p>filler text</p>'.repeat(100)}</body></html>`;
      const text = errorBodyText(html);
      assert.ok(text.startsWith('502 Bad Gateway nginx'), text);
      assert.ok(text.length <= 200, String(text.length));
      assert.ok(!text.includes('<'));
      assert.ok(!text.includes('color'));
      assert.equal(excerpt('  a \n\t b  '), 'a b');
    });

    it('reads the platform\'s own words from errormsg first, in REST bodies and socket replies', () => {
      assert.equal(errorBodyText({ result: 'error', errormsg: 'Access denied: role mware required' }), 'Access denied: role mware required');
      assert.deepEqual(replyError({ qid: 1, result: 'error', errormsg: 'capability subscr is not set up' }, true), { message: 'capability subscr is not set up' });
      assert.deepEqual(replyError({ qid: 1, errormsg: 'refused' }, false), { message: 'refused' }, 'errormsg without result');
      assert.deepEqual(replyError({ result: 'error', errormsg: 'words', error: { code: 7, message: 'other' } }, false), { code: 7, message: 'words' });
      assert.deepEqual(replyError({ result: 'error', error: 'bare' }, false), { message: 'bare' });
      assert.equal(replyError({ result: 'ok', errormsg: '' }, true), undefined);
    });

    it('reads the call list as an array, or under calls / items', () => {
      const call = { id: 'c.1', cid: 'c', invitets: 5, fromnum: '1', tonum: '2', dir: 'in', state: 'talk' };
      const expected = [{ connectionId: 'c.1', callId: 'c', startedAt: 5, from: '1', to: '2', direction: 'in', state: 'talking' }];
      assert.deepEqual(listedCalls([call]), expected);
      assert.deepEqual(listedCalls({ calls: [call] }), expected);
      assert.deepEqual(listedCalls({ items: [call, 'junk', { no: 'id' }] }), expected);
      assert.equal(listedCalls({ total: 0 }), undefined);
      assert.equal(listedCalls([{ id: 'x', state: 'constructor' }])![0]!.state, undefined);
    });

    it('reads recording links from REST and from the token socket', () => {
      assert.equal(recordLinkFromRest({ url: '/temp/a.mp3' }), '/temp/a.mp3');
      assert.equal(recordLinkFromRest({ url: 'nope' }), undefined);
      assert.deepEqual(recordLinkFromWs({ qid: 1, result: '/temp/a.mp3' }), { link: '/temp/a.mp3' });
      assert.deepEqual(recordLinkFromWs({ qid: 1, result: 'record not found' }), { error: { message: 'record not found' } });
      assert.deepEqual(recordLinkFromWs({ qid: 1, result: 'error', error: { code: 'not_found', message: 'x' } }), {
        error: { code: 'not_found', message: 'x' },
      });
    });
  });

  describe('backoff', () => {
    it('grows exponentially up to the maximum, with full jitter, and starts over after reset', () => {
      const b = new Backoff(100, 1000);
      const caps = [100, 200, 400, 800, 1000, 1000];
      for (const cap of caps) {
        const d = b.next();
        assert.ok(d >= 0 && d < cap, `${d} < ${cap}`);
      }
      b.reset();
      assert.ok(b.next() < 100);
      const spread = new Set(Array.from({ length: 20 }, () => Math.round(new Backoff(1000, 1000).next())));
      assert.ok(spread.size > 10, 'jittered');
    });
  });

  describe('patterns', () => {
    it('matches <class>.<type> with *', () => {
      const p = compilePatterns(['callevents.*', 'ccsevents.call_*', '*.dlg_end']);
      assert.ok(matchesAny(p, 'callevents', 'invite'));
      assert.ok(matchesAny(p, 'ccsevents', 'call_dtmf'));
      assert.ok(!matchesAny(p, 'ccsevents', 'connection_create'));
      assert.ok(matchesAny(p, 'other', 'dlg_end'));
      assert.ok(matchesPattern('callevents.*', 'callevents.dlg_start'));
      assert.ok(!matchesPattern('callevents.dlg_end', 'callevents.dlg_start'));
      assert.ok(!matchesPattern('bad pattern', 'callevents.dlg_start'));
      assert.ok(matchesPattern('callevents', 'callevents.x'));
    });

    it('refuses what is not a pattern', () => {
      assert.throws(() => compilePatterns(['callevents.(x)']), { code: 'ERA_INVALID_INPUT' });
      assert.throws(() => compilePatterns([]), { code: 'ERA_INVALID_INPUT' });
    });

    it('unites patterns without redundancy', () => {
      assert.deepEqual(unionOf(compilePatterns(['callevents.dlg_end', 'callevents.*', 'ccsevents.call_dtmf', 'callevents.*'])), [
        'callevents.*',
        'ccsevents.call_dtmf',
      ]);
    });
  });
});
