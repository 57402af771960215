import type { NodeDef, NodeMessage, RedApi, RedNode } from './red';

const CONTEXT_TYPES = new Set(['msg', 'flow', 'global']);

/**
 * Evaluates one TypedInput field (`<field>` + `<field>Type`) against a message. An empty
 * msg/flow/global path or an empty JSON field means "not set" rather than an error, so
 * optional fields can simply be left blank in the editor.
 */
export function evaluateField(
  RED: RedApi,
  node: RedNode,
  def: NodeDef,
  field: string,
  msg: NodeMessage,
): Promise<unknown> {
  const value = def[field];
  const type = typeof def[`${field}Type`] === 'string' ? (def[`${field}Type`] as string) : 'str';
  if (value === undefined || value === null) return Promise.resolve(undefined);
  if (value === '' && (CONTEXT_TYPES.has(type) || type === 'json' || type === 'num' || type === 'jsonata')) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(value, type, node, msg, (err, result) => (err ? reject(err) : resolve(result)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Evaluates several fields at once; the result maps each field name to its value. */
export async function evaluateFields<F extends string>(
  RED: RedApi,
  node: RedNode,
  def: NodeDef,
  fields: readonly F[],
  msg: NodeMessage,
): Promise<Record<F, unknown>> {
  const values = await Promise.all(fields.map((f) => evaluateField(RED, node, def, f, msg)));
  const out = {} as Record<F, unknown>;
  fields.forEach((f, i) => {
    out[f] = values[i];
  });
  return out;
}
