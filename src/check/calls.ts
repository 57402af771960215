/**
 * The REST call API: the list's shape (read-only, always), and a test call placed and hung up
 * (only when asked for, with the numbers given; they never appear in the report).
 */
import { EraError, isObject, PATHS } from '../era';
import { message, result, type CheckContext, type StepResult } from './context';
import { FieldShapes, describeFields, jsonType } from './shapes';

const PAGE = { offset: 0, limit: 50 };

/** The platform's words for a refused call request, with the most likely cause. */
function refusal(ctx: CheckContext, err: unknown): StepResult {
  const status = err instanceof EraError ? err.statusCode : undefined;
  const details = status === 403 || status === 401
    ? ['the account (or integration point) needs the platform roles that serve the calls API (mware, callstore)']
    : [];
  return result('fail', ctx.scrub.words(message(err)), details);
}

function listShape(body: unknown): { shape: string; items: unknown[] | undefined } {
  if (Array.isArray(body)) return { shape: 'a JSON array', items: body };
  if (isObject(body)) {
    if (Array.isArray(body.calls)) return { shape: 'an object with the list in "calls"', items: body.calls };
    if (Array.isArray(body.items)) return { shape: 'an object with the list in "items"', items: body.items };
    return { shape: 'an object without a list', items: undefined };
  }
  return { shape: body === null ? 'an empty body' : `a ${jsonType(body)}`, items: undefined };
}

export async function callListStep(ctx: CheckContext): Promise<StepResult> {
  let body: unknown;
  let statusCode: number;
  try {
    ({ body, statusCode } = await ctx.client.rest('GET', PATHS.calls, undefined, { query: PAGE }));
  } catch (err) {
    return refusal(ctx, err);
  }
  const { shape, items } = listShape(body);
  const line = `GET ${PATHS.calls}?offset=${PAGE.offset}&limit=${PAGE.limit}: HTTP ${statusCode}, ${shape}`;
  if (items === undefined) {
    const fields = isObject(body) ? [`fields: ${describeFields(body)}`] : [];
    return result('fail', line, [...fields, 'the package reads an array, or an array in "calls" or "items": its call list and the reconciliation after an outage cannot read this']);
  }
  const shapes = new FieldShapes();
  for (const item of items) if (isObject(item)) shapes.add(item);
  const details = [`items: ${items.length === 0 ? 'none (no call in progress)' : shapes.describe()}`];
  if (shapes.count < items.length) details.push(`${items.length - shapes.count} items are not objects`);
  return result('pass', `${line} of ${items.length} item${items.length === 1 ? '' : 's'}`, details);
}

/** Which field of a dial answer carried the new call's id, as the client reads it. */
function idField(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  return ['id', 'connectionid'].find((k) => (typeof body[k] === 'string' && body[k] !== '') || typeof body[k] === 'number');
}

/** Places the call, lets it ring `ringMs` (events to see while listening), then hangs it up. */
export async function testCallStep(ctx: CheckContext, call: { to: string; from: string }, ringMs: number): Promise<StepResult> {
  let answer: { statusCode: number; body: unknown; connectionId?: string };
  try {
    answer = await ctx.client.command({ op: 'dial', from: call.from, to: call.to });
  } catch (err) {
    return refusal(ctx, err);
  }
  const field = idField(answer.body);
  const placed = `POST ${PATHS.calls}: HTTP ${answer.statusCode}`;
  const fields = isObject(answer.body) ? `answer fields: ${describeFields(answer.body)}` : `answer: ${jsonType(answer.body)}`;
  if (answer.connectionId === undefined || field === undefined) {
    return result('fail', `${placed}, no call id in the answer: hang the call up by hand`, [fields]);
  }
  if (ringMs > 0) await new Promise((resolve) => setTimeout(resolve, ringMs));
  try {
    const hangup = await ctx.client.command({ op: 'hangup', call: answer.connectionId });
    return result('pass', `${placed}, id in "${field}"; DELETE ${PATHS.calls}/<id>: HTTP ${hangup.statusCode}`, [fields]);
  } catch (err) {
    return result('fail', `${placed}, id in "${field}"; the hangup failed: ${ctx.scrub.words(message(err))}`, [fields, 'the test call may still ring: hang it up by hand']);
  }
}
