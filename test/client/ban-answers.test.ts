/**
 * How a ban shows in what the platform answers (the status codes are not documented, §2.1),
 * and how long it says to wait.
 */
import assert from 'node:assert/strict';
import { isBanAnswer, isBanReply, retryAfterMs, saysBanned } from '../../src/era/protocol/session';

describe('client: reading a ban in an answer', () => {
  it('an ordinary request: 429, or a refusal that says so; a bare 403 is a missing right, not a ban', () => {
    assert.equal(isBanReply(429, null), true);
    assert.equal(isBanReply(403, { error: { code: 'banned', message: 'address banned for 180 s after too many failed logins' } }), true);
    assert.equal(isBanReply(403, { error: { code: 'forbidden', message: 'role mware is required' } }), false);
    assert.equal(isBanReply(403, 'Forbidden'), false);
    assert.equal(isBanReply(401, null), false);
    assert.equal(isBanReply(200, { text: 'banner' }), false);
    assert.equal(isBanReply(404, { error: { code: 'not_found', message: 'Bandwidth report not found' } }), false);
    assert.equal(isBanReply(400, { error: { code: 'bad_request', message: 'destination number is banned by the routing rules' } }), false, 'a refused dial, not this address');
    assert.equal(isBanReply(502, '<div class="banner">Service temporarily unavailable</div>'), false);
    assert.equal(isBanReply(503, 'address banned'), false, 'a 5xx never is');
    assert.equal(isBanReply(403, { error: { message: 'Доступ запрещён: адрес заблокирован' } }), true);
  });

  it('a login or an upgrade: 403 and 429 are the ban whatever the body says', () => {
    assert.equal(isBanAnswer(403, null), true);
    assert.equal(isBanAnswer(429, 'slow down'), true);
    assert.equal(isBanAnswer(401, { errormsg: 'wrong password' }), false);
    assert.equal(isBanAnswer(400, { errormsg: 'IP address banned' }), true, 'another refusal in words that the address is banned');
    assert.equal(isBanAnswer(400, { errormsg: 'account banned' }), false, 'an account is not the address');
    assert.equal(isBanAnswer(502, 'address banned'), false);
  });

  it('a socket login\'s words: a ban, in any case, but not a word that merely starts alike', () => {
    assert.equal(saysBanned('address banned for 180 s after too many failed logins'), true);
    assert.equal(saysBanned('IP BAN in effect'), true);
    assert.equal(saysBanned('wrong login or password'), false);
    assert.equal(saysBanned('urban myth'), false);
    for (const word of ['Bandwidth exceeded', 'banner', 'bank transfer', 'Banned-list', 'бананы', 'банк']) {
      assert.equal(saysBanned(word), word === 'Banned-list', word);
    }
    for (const words of ['bans apply', 'banning in progress', 'Вы забанены', 'IP-адрес заблокирован на 3 минуты', 'бан на 180 с']) {
      assert.equal(saysBanned(words), true, words);
    }
    assert.equal(saysBanned('номер заблокирован'), false, 'a blocked number is no ban of the address');
  });

  it('Retry-After in seconds or as a date; garbage is ignored, and a huge one is capped at an hour', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs(['7', '9'], now), 7000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 11:59:00 GMT', now), 0, 'a date gone by: at once');
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs('-5', now), undefined);
    assert.equal(retryAfterMs('', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('99999999', now), 3_600_000);
  });
});
