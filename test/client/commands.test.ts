import assert from 'node:assert/strict';
import { validateCommand, type CallCommand } from '../../src/era/commands/validate';
import { EraError } from '../../src/era/errors';
import { buildCallRequest } from '../../src/era/protocol/commands';

const ID = '3694473f-0641-450c-2c15-c00000000002.1601282818792';

function build(cmd: CallCommand) {
  return buildCallRequest(validateCommand(cmd));
}

function refused(cmd: unknown, message: RegExp | string): void {
  assert.throws(
    () => validateCommand(cmd),
    (err: unknown) => {
      assert.ok(err instanceof EraError);
      assert.equal(err.code, 'ERA_INVALID_INPUT');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('client: call commands', () => {
  describe('request building', () => {
    it('dials by POST, INVITE or INVITEBYIVR on the calls collection', () => {
      assert.deepEqual(build({ op: 'dial', from: '101', to: '+79990001122' }), {
        method: 'POST',
        path: '/rest/v1/uc/calls',
        body: { from: '101', to: '+79990001122' },
      });
      assert.deepEqual(build({ op: 'dial', mode: 'invite', from: 101, to: 202 }), {
        method: 'INVITE',
        path: '/rest/v1/uc/calls',
        body: { from: '101', to: '202' },
      });
      assert.deepEqual(build({ op: 'dial', mode: 'ivr', to: '202', ivr: 'menu1' }), {
        method: 'INVITEBYIVR',
        path: '/rest/v1/uc/calls',
        body: { to: '202', ivr: 'menu1' },
      });
    });

    it('leaves an empty "from" out of the body', () => {
      assert.deepEqual(build({ op: 'dial', from: '  ', to: '202' }).body, { to: '202' });
    });

    it('builds every call operation on /rest/v1/uc/calls/<id>', () => {
      const path = `/rest/v1/uc/calls/${ID}`;
      const cases: Array<[CallCommand, string, unknown]> = [
        [{ op: 'transfer', call: ID, to: '102' }, 'REFER', { to: '102' }],
        [{ op: 'transfer', mode: 'blind', call: ID, to: '102', leg: 'b1@x' }, 'REFER', { to: '102', idcall: 'b1@x' }],
        [{ op: 'transfer', mode: 'attended', call: ID, replaces: 'other.1' }, 'REFERREPLACES', { replaces: 'other.1' }],
        [{ op: 'conference', call: ID }, 'SWITCHCONF', {}],
        [{ op: 'conference', mode: 'join', call: ID, conference: 'c1' }, 'REFERCONF', { conference: 'c1' }],
        [{ op: 'hold', call: ID, leg: 'b1@x' }, 'NOTIFY', { idcall: 'b1@x', event: 'hold' }],
        [{ op: 'unhold', call: ID }, 'NOTIFY', { event: 'talk' }],
        [{ op: 'answer', call: ID, leg: 'b1@x' }, 'NOTIFY', { idcall: 'b1@x', event: 'talk' }],
        [{ op: 'dtmf', call: ID, digits: '12#' }, 'SEND_DTMF', { dtmf: '12#' }],
        [{ op: 'record', call: ID, record: true }, 'SETUP_RECORD', { record: true }],
        [{ op: 'hangup', call: ID }, 'DELETE', undefined],
        [{ op: 'get', call: ID }, 'GET', undefined],
      ];
      for (const [cmd, method, body] of cases) {
        const req = build(cmd);
        assert.equal(req.method, method, JSON.stringify(cmd));
        assert.equal(req.path, path);
        assert.deepEqual(req.body, body, JSON.stringify(cmd));
      }
    });

    it('lists and looks up on the collection', () => {
      assert.deepEqual(build({ op: 'list' }), { method: 'GET', path: '/rest/v1/uc/calls', query: {} });
      assert.deepEqual(build({ op: 'list', offset: 10, limit: 5 }).query, { offset: 10, limit: 5 });
      assert.deepEqual(build({ op: 'lookup', key: 'abc' }), { method: 'LOOKUP', path: '/rest/v1/uc/calls', body: { key: 'abc' } });
    });

    it('merges extra fields last, so they can override what the node built', () => {
      const req = build({ op: 'transfer', call: ID, to: '102', extra: { to: '103', owner: 'x' } });
      assert.deepEqual(req.body, { to: '103', owner: 'x' });
      assert.deepEqual(build({ op: 'conference', call: ID, extra: { a: 1 } }).body, { a: 1 });
    });

    it('encodes the call id in the path and accepts numbers', () => {
      assert.equal(build({ op: 'hangup', call: 'a/b c' }).path, '/rest/v1/uc/calls/a%2Fb%20c');
      assert.equal(build({ op: 'hangup', call: 42 }).path, '/rest/v1/uc/calls/42');
      assert.equal(build({ op: 'hangup', call: '  x.1 ' }).path, '/rest/v1/uc/calls/x.1');
    });

    it('upper-cases a-d in DTMF', () => {
      assert.deepEqual(build({ op: 'dtmf', call: ID, digits: 'abcd*#' }).body, { dtmf: 'ABCD*#' });
      assert.deepEqual(build({ op: 'dtmf', call: ID, digits: 123 }).body, { dtmf: '123' });
    });
  });

  describe('validation (before anything is sent)', () => {
    it('refuses DTMF outside 0-9 * # A-D, naming the character', () => {
      refused({ op: 'dtmf', call: ID, digits: '12x' }, 'DTMF digits "12x" contain "x": only 0-9, *, #, A-D are allowed');
      refused({ op: 'dtmf', call: ID, digits: '1e' }, 'DTMF digits "1e" contain "e": only 0-9, *, #, A-D are allowed');
      refused({ op: 'dtmf', call: ID, digits: '1 2' }, /contain " "/);
    });

    it('refuses empty DTMF and more than 64 digits', () => {
      refused({ op: 'dtmf', call: ID, digits: '' }, 'The DTMF digits field is empty: give 1 to 64 of 0-9, *, #, A-D');
      refused({ op: 'dtmf', call: ID }, /empty/);
      refused({ op: 'dtmf', call: ID, digits: '1'.repeat(65) }, 'DTMF digits are 65 long: at most 64 are allowed');
      assert.equal((validateCommand({ op: 'dtmf', call: ID, digits: '1'.repeat(64) }) as { digits: string }).digits.length, 64);
    });

    it('refuses a missing, blank or non-text call id', () => {
      refused({ op: 'hangup' }, /^The call id is empty: set "call" to the call's connectionId/);
      refused({ op: 'hangup', call: '   ' }, /The call id is empty/);
      refused({ op: 'hangup', call: { id: 1 } }, 'The call id must be text or a number, got an object');
      refused({ op: 'hangup', call: NaN }, /must be text or a number/);
      refused({ op: 'hangup', call: true }, /got the boolean true/);
    });

    it('refuses a dial without a number and an ivr dial without a scenario', () => {
      refused({ op: 'dial', from: '101' }, /^The number to call is empty/);
      refused({ op: 'dial', mode: 'ivr', to: '202' }, /^The IVR scenario is empty/);
    });

    it('refuses unknown modes and commands', () => {
      refused({ op: 'dial', mode: 'fax', to: '1' }, 'Unknown dial mode "fax": use post, invite, ivr');
      refused({ op: 'transfer', mode: 'warm', call: ID, to: '1' }, /Unknown transfer mode "warm"/);
      refused({ op: 'conference', mode: 3, call: ID }, /Unknown conference mode a number/);
      refused({ op: 'park', call: ID }, /^Unknown call command "park"/);
      refused(null, /must be an object/);
    });

    it('needs "to" for a blind transfer and "replaces" for an attended one', () => {
      refused({ op: 'transfer', call: ID }, /a blind transfer needs "to"/);
      refused({ op: 'transfer', mode: 'attended', call: ID, to: '1' }, /an attended transfer needs the other call's connectionId in "replaces"/);
      refused({ op: 'conference', mode: 'join', call: ID }, /mode "join" needs the conference/);
    });

    it('needs extra fields to be a plain object', () => {
      refused({ op: 'dtmf', call: ID, digits: '1', extra: [1] }, /Extra fields must be a JSON object .*got a list/);
      refused({ op: 'dtmf', call: ID, digits: '1', extra: 'x' }, /got a string/);
      refused({ op: 'dtmf', call: ID, digits: '1', extra: new Date() }, /got an object/);
      assert.doesNotThrow(() => validateCommand({ op: 'dtmf', call: ID, digits: '1', extra: null }));
    });

    it('needs a boolean to record', () => {
      refused({ op: 'record', call: ID, record: 'yes' }, /"record" must be true/);
    });
  });
});
