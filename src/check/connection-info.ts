/**
 * The connection_info step: the platform's own view of the connection. Field names, the owner
 * type and the capability list are shown; the ids and the domain it carries are not.
 */
import { isObject, type JsonObject } from '../era';
import { judged, message, result, undocumentedError, type CheckContext, type StepResult } from './context';
import { CONNECTION_INFO_FIELDS } from './documented';
import { describeFields, shownName } from './shapes';

const METHOD = 'connection_info';
/** An owner type is an enumeration ("user", "token"): shown when it looks like one. */
const WORD = /^[a-z][a-z_-]{0,19}$/i;

function capabilityNames(list: unknown[]): string[] {
  return list.map((item) => shownName(typeof item === 'string' ? item : isObject(item) && typeof item.key === 'string' ? item.key : '?'));
}

export async function connectionInfoStep(ctx: CheckContext): Promise<StepResult> {
  let reply: JsonObject;
  try {
    reply = await ctx.client.wsRequest(METHOD, {}, { timeoutMs: ctx.timeoutMs });
  } catch (err) {
    const raw = ctx.recorder.sentOf(METHOD)[0]?.reply;
    const details = raw !== undefined && !(typeof raw.errormsg === 'string' && raw.errormsg !== '') ? [`differs: ${undocumentedError(METHOD)}`] : [];
    return result('fail', ctx.scrub.words(message(err)), details);
  }
  const fields = { ...reply };
  delete fields.qid;
  delete fields.result;
  const differences: string[] = [];
  const missing = CONNECTION_INFO_FIELDS.filter((name) => !(name in fields));
  if (missing.length > 0) differences.push(`no ${missing.join(', ')} (documented)`);
  const parts: string[] = [];
  const owner = reply.ownertype;
  if (typeof owner === 'string') parts.push(`ownertype ${WORD.test(owner) ? owner : '(not a word)'}`);
  const caps = reply.capabilities;
  if (Array.isArray(caps)) {
    parts.push(`capabilities ${caps.length === 0 ? '(none)' : capabilityNames(caps).join(', ')}`);
    if (caps.some((item) => typeof item !== 'string')) differences.push('capabilities are not all names (documented: a list of names)');
  } else if (caps !== undefined) {
    differences.push('capabilities is not a list (documented: a list of names)');
  }
  const details = [`fields: ${describeFields(fields)}`];
  for (const difference of differences) details.push(`differs: ${difference}`);
  return result(judged(false, differences), parts.length > 0 ? parts.join('; ') : 'answered', details);
}
