/**
 * Call control over REST (era-platform.md §6): the verb, path and [M] body of each command, and
 * the new call's id in a dial's answer.
 */
import type { ValidCommand } from '../types';
import { PATHS, type PlatformRequest, type Query } from './paths';
import { compact, isObject, text } from './values';

function callPath(id: string): string {
  return `${PATHS.calls}/${encodeURIComponent(id)}`;
}

export function buildCallRequest(cmd: ValidCommand): PlatformRequest {
  switch (cmd.op) {
    case 'dial':
      if (cmd.mode === 'ivr') {
        return { method: 'INVITEBYIVR', path: PATHS.calls, body: compact({ to: cmd.to, ivr: cmd.ivr }, cmd.extra) };
      }
      return {
        method: cmd.mode === 'invite' ? 'INVITE' : 'POST',
        path: PATHS.calls,
        body: compact({ from: cmd.from, to: cmd.to }, cmd.extra),
      };
    case 'transfer':
      return cmd.mode === 'attended'
        ? { method: 'REFERREPLACES', path: callPath(cmd.call), body: compact({ replaces: cmd.replaces, idcall: cmd.leg }, cmd.extra) }
        : { method: 'REFER', path: callPath(cmd.call), body: compact({ to: cmd.to, idcall: cmd.leg }, cmd.extra) };
    case 'conference':
      return cmd.mode === 'join'
        ? { method: 'REFERCONF', path: callPath(cmd.call), body: compact({ conference: cmd.conference }, cmd.extra) }
        : { method: 'SWITCHCONF', path: callPath(cmd.call), body: compact({}, cmd.extra) };
    case 'hold':
    case 'unhold':
      return {
        method: 'NOTIFY',
        path: callPath(cmd.call),
        body: compact({ idcall: cmd.leg, event: cmd.op === 'unhold' ? 'talk' : 'hold' }, cmd.extra),
      };
    case 'answer':
      return { method: 'NOTIFY', path: callPath(cmd.call), body: compact({ idcall: cmd.leg, event: 'talk' }, cmd.extra) };
    case 'dtmf':
      return { method: 'SEND_DTMF', path: callPath(cmd.call), body: compact({ idcall: cmd.leg, dtmf: cmd.digits }, cmd.extra) };
    case 'record':
      return { method: 'SETUP_RECORD', path: callPath(cmd.call), body: compact({ record: cmd.record }, cmd.extra) };
    case 'hangup':
      return { method: 'DELETE', path: callPath(cmd.call) };
    case 'lookup':
      return { method: 'LOOKUP', path: PATHS.calls, body: compact({ key: cmd.key }, cmd.extra) };
    case 'list': {
      const query: Query = {};
      if (cmd.offset !== undefined) query.offset = cmd.offset;
      if (cmd.limit !== undefined) query.limit = cmd.limit;
      return { method: 'GET', path: PATHS.calls, query };
    }
    case 'get':
      return { method: 'GET', path: callPath(cmd.call) };
  }
}

/** The new call's id in a dial response (`{"id": connectionid}`). */
export function connectionIdFromResponse(responseBody: unknown): string | undefined {
  return isObject(responseBody) ? text(responseBody.id) ?? text(responseBody.connectionid) : undefined;
}

export function callListRequest(offset: number, limit: number): PlatformRequest {
  return { method: 'GET', path: PATHS.calls, query: { offset, limit } };
}
