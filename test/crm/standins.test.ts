/**
 * The stand-ins refuse what the vendors' references say the real services refuse: a recipe
 * that passes against them has sent what the vendor documents, not just anything.
 */
import assert from 'node:assert/strict';
import { AmoCrmStandIn } from './standins/amocrm';
import { Bitrix24StandIn } from './standins/bitrix24';
import { encodeForm, parseForm } from './standins/http';
import { ZammadStandIn } from './standins/zammad';

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

describe('CRM stand-ins, as their references describe them', function () {
  it('forms: a[b][c] nesting both ways, as PHP reads it', function () {
    const form = { event: 'ONEXTERNALCALLSTART', data: { PHONE_NUMBER: '+7 912', CALL_ID: 'x&y=z' }, auth: { application_token: 't' } };
    assert.equal(encodeForm(form), 'event=ONEXTERNALCALLSTART&data%5BPHONE_NUMBER%5D=%2B7%20912&data%5BCALL_ID%5D=x%26y%3Dz&auth%5Bapplication_token%5D=t');
    assert.deepEqual(parseForm(encodeForm(form)), form);
  });

  describe('Bitrix24', function () {
    let b24: Bitrix24StandIn;
    beforeEach(async function () {
      b24 = await new Bitrix24StandIn().start();
    });
    afterEach(async function () {
      await b24.stop();
    });
    const call = (method: string, params: Record<string, unknown>, auth = b24.accessToken, on = b24) => post(`${on.url}/rest/${method}`, { ...params, ...(auth ? { auth } : {}) });

    it('register: USER_ID or USER_PHONE_INNER, a known TYPE, ISO-8601 with a zone, a phone number; only in an application\'s context', async function () {
      const ok = { USER_PHONE_INNER: '101', PHONE_NUMBER: '+79123456789', TYPE: 2, CALL_START_DATE: '2026-03-07T10:20:30+03:00' };
      assert.deepEqual((await call('telephony.externalCall.register', { ...ok, USER_PHONE_INNER: undefined })).body, { error: 'ERROR_CORE', error_description: 'USER_ID or USER_PHONE_INNER should be set' });
      assert.equal((await call('telephony.externalCall.register', { ...ok, TYPE: 9 })).body.error_description, 'Unknown TYPE');
      assert.equal((await call('telephony.externalCall.register', { ...ok, CALL_START_DATE: '2026-03-07 10:20' })).body.error_description, 'CALL_START_DATE should be in the ISO-8601 format');
      assert.equal((await call('telephony.externalCall.register', { ...ok, PHONE_NUMBER: 'anonymous' })).body.error_description, 'Unsupported phone number format');
      const webhook = await post(`${b24.url}/rest/1/webhookcode/telephony.externalcall.register`, ok);
      assert.deepEqual([webhook.status, webhook.body.error], [403, 'WRONG_AUTH_TYPE']);
      const reg = await call('telephony.externalCall.register', ok);
      assert.equal(reg.status, 200);
      assert.match(String((reg.body.result as Record<string, unknown>).CALL_ID), /^externalCall\.[0-9a-f]{32}\.\d+$/);
    });

    it('finish needs a registered CALL_ID (once); attachRecord needs a finished call, a wav/mp3 name and base64', async function () {
      const reg = await call('telephony.externalcall.register', { USER_PHONE_INNER: '101', PHONE_NUMBER: '+79123456789', TYPE: 2 });
      const callId = (reg.body.result as { CALL_ID: string }).CALL_ID;
      assert.equal((await call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'a.mp3', FILE_CONTENT: 'SUQz' })).body.error_description, 'Call is not found in the statistic table. It looks like it is not finished yet.');
      assert.equal((await call('telephony.externalcall.finish', { CALL_ID: 42, USER_PHONE_INNER: '101' })).body.error, 'INVALID_ARGUMENT');
      assert.equal((await call('telephony.externalcall.finish', { CALL_ID: callId, USER_PHONE_INNER: '101', STATUS_CODE: '999' })).status, 400);
      assert.equal((await call('telephony.externalcall.finish', { CALL_ID: callId, USER_PHONE_INNER: '101', DURATION: 5 })).status, 200);
      assert.equal(b24.finished.get(callId)!.params.DURATION, 5);
      assert.equal((await call('telephony.externalcall.finish', { CALL_ID: callId, USER_PHONE_INNER: '101' })).body.error_description, 'Call is not found (call should be registered prior to finishing)');
      assert.equal((await call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'a.ogg', FILE_CONTENT: 'SUQz' })).body.error_description, 'Wrong file extension. Only wav and mp3 are allowed');
      assert.equal((await call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'a.mp3', FILE_CONTENT: 'not base64!' })).body.error_description, 'File content is not properly encoded. Base64 encoding is expected.');
      assert.equal((await call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'a.mp3', FILE_CONTENT: 'SUQz' })).status, 200);
      assert.equal(b24.attachments[0].content!.toString('latin1'), 'ID3');
    });

    it('tokens: none → NO_AUTH_FOUND, expired → expired_token (401); the refresh needs the client keys and the current refresh token, and retires both old tokens', async function () {
      assert.deepEqual((await call('event.bind', {}, '')).body.error, 'NO_AUTH_FOUND');
      const old = { access: b24.accessToken, refresh: b24.refreshToken };
      b24.expireAccessToken();
      const expired = await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'https://x/' });
      assert.deepEqual([expired.status, expired.body.error], [401, 'expired_token']);
      const token = (q: Record<string, string>) => fetch(`${b24.url}/oauth/token/?${new URLSearchParams(q)}`).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
      const q = { grant_type: 'refresh_token', client_id: b24.clientId, client_secret: b24.clientSecret, refresh_token: old.refresh };
      assert.equal((await token({ ...q, client_secret: 'wrong' })).body.error, 'invalid_client');
      const renewed = await token(q);
      assert.equal(renewed.status, 200);
      assert.equal(renewed.body.access_token, b24.accessToken);
      assert.notEqual(b24.accessToken, old.access);
      assert.equal((await token(q)).body.error, 'invalid_grant', 'the old refresh token is spent');
      assert.equal((await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'https://x/' })).status, 200);
    });

    it('the leaky bucket: above its size, QUERY_LIMIT_EXCEEDED (503)', async function () {
      const small = await new Bitrix24StandIn({ burst: 5, perSecond: 1 }).start();
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) statuses.push((await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'https://x/' }, small.accessToken, small)).status);
        assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
        assert.equal(statuses[6], 503);
        assert.equal(small.requests((r) => r.status === 503)[0].status, 503);
      } finally {
        await small.stop();
      }
    });
  });

  describe('amoCRM', function () {
    let amo: AmoCrmStandIn;
    beforeEach(async function () {
      amo = await new AmoCrmStandIn().start();
    });
    afterEach(async function () {
      await amo.stop();
    });
    const bearer = () => ({ Authorization: `Bearer ${amo.token}` });

    it('Bearer or 401 (problem+json); the required call fields, or 400 with validation-errors', async function () {
      const call = { direction: 'inbound', duration: 5, source: 'Era', phone: '9123456789', call_status: 4 };
      const unauthorised = await post(`${amo.url}/api/v4/calls`, [call]);
      assert.deepEqual([unauthorised.status, unauthorised.body.title, unauthorised.headers.get('content-type')], [401, 'Unauthorized', 'application/problem+json']);
      const invalid = await post(`${amo.url}/api/v4/calls`, [{ ...call, phone: undefined, call_status: 9 }], bearer());
      assert.equal(invalid.status, 400);
      assert.deepEqual((invalid.body['validation-errors'] as Array<{ errors: Array<{ path: string }> }>)[0].errors.map((e) => e.path), ['phone', 'call_status']);
      const ok = await post(`${amo.url}/api/v4/calls`, [call, { ...call, phone: '+7 999 000-11-22' }], bearer());
      assert.equal(ok.status, 200);
      assert.deepEqual([amo.calls.length, amo.unmatched.length], [1, 1], 'added to the card whose last 10 digits match; the other not');
      assert.equal((await post(`${amo.url}/api/v2/events`, { add: [{ type: 'call', phone_number: '1' }] }, bearer())).status, 400);
    });

    it('more than 7 requests in a second: 429', async function () {
      const statuses = await Promise.all(Array.from({ length: 9 }, () => post(`${amo.url}/api/v2/events`, { add: [{ type: 'phone_call', phone_number: '9123456789' }] }, bearer()).then((r) => r.status)));
      assert.deepEqual(statuses.filter((s) => s === 202).length, 7);
      assert.deepEqual(statuses.filter((s) => s === 429).length, 2);
    });
  });

  describe('Zammad', function () {
    let desk: ZammadStandIn;
    beforeEach(async function () {
      desk = await new ZammadStandIn().start();
    });
    afterEach(async function () {
      await desk.stop();
    });

    it('a token, or 401; a ticket needs a title, a known group and customer; unknown states and tickets are refused', async function () {
      const ticket = { title: 'Call back', group: 'Users', customer: 'callbacks@example.com', article: { body: 'x', type: 'phone' } };
      assert.equal((await post(`${desk.url}/api/v1/tickets`, ticket)).status, 401);
      const auth = { Authorization: `Token token=${desk.token}` };
      assert.equal((await post(`${desk.url}/api/v1/tickets`, { ...ticket, group: 'Nope' }, auth)).status, 422);
      assert.equal((await post(`${desk.url}/api/v1/tickets`, { ...ticket, customer: undefined }, auth)).status, 422);
      assert.equal((await post(`${desk.url}/api/v1/tickets`, { ...ticket, article: { type: 'phone' } }, auth)).status, 422);
      const created = await post(`${desk.url}/api/v1/tickets`, ticket, auth);
      assert.deepEqual([created.status, created.body.id, created.body.state], [201, 1, 'new']);
      const put = (id: number, body: unknown) => fetch(`${desk.url}/api/v1/tickets/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...auth }, body: JSON.stringify(body) }).then((r) => r.status);
      assert.equal(await put(1, { state: 'solved' }), 422);
      assert.equal(await put(7, { state: 'closed' }), 404);
      assert.equal(await put(1, { state: 'closed' }), 200);
      assert.equal(desk.tickets.get(1)!.state, 'closed');
    });
  });
});
