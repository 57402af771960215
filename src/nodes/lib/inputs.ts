import type { NodeDef, NodeMessage, RedApi, RedNode } from './red';

const CONTEXT_TYPES = new Set(['msg', 'flow', 'global']);

/** A TypedInput field's value and type when a flow leaves it out (flows written by hand do). */
export type FieldDefault = readonly [value: string, type: string];
export type FieldDefaults<F extends string> = Readonly<Record<F, FieldDefault>>;

/** A field left empty: absent, null, or blank text. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** The defaults nodes.md gives: the call from msg.connectionId, optional text and JSON empty. */
export const CALL: FieldDefault = ['connectionId', 'msg'];
export const PAYLOAD: FieldDefault = ['payload', 'msg'];
export const OPTIONAL: FieldDefault = ['', 'str'];
export const EXTRA: FieldDefault = ['', 'json'];

/** Types Node-RED evaluates on the spot; context stores and JSONata may answer later. */
const SYNC_TYPES = new Set(['msg', 'str', 'num', 'bool', 'json', 'bin', 'date', 'env', 're']);

/** What a field resolves to: its value and TypedInput type, after the defaults. */
function resolved(def: NodeDef, field: string, fallback: FieldDefault): { value: unknown; type: string; unset: boolean } {
  const absent = def[field] === undefined || def[field] === null;
  const value = absent ? fallback[0] : def[field];
  const declared = def[`${field}Type`];
  const type = typeof declared === 'string' && declared && !absent ? declared : fallback[1];
  const unset = value === '' && (CONTEXT_TYPES.has(type) || type === 'json' || type === 'num' || type === 'jsonata');
  return { value, type, unset };
}

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
  fallback: FieldDefault,
  msg: NodeMessage,
): Promise<unknown> {
  const { value, type, unset } = resolved(def, field, fallback);
  if (unset) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(value, type, node, msg, (err, result) => (err ? reject(err) : resolve(result)));
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * Evaluates several fields at once; the result maps each field name to its value. Fields of
 * types Node-RED evaluates on the spot (the usual msg, str, num, JSON) are read at once, with
 * one promise for the lot instead of one per field.
 */
export function evaluateFields<F extends string>(
  RED: RedApi,
  node: RedNode,
  def: NodeDef,
  defaults: FieldDefaults<F>,
  msg: NodeMessage,
): Promise<Record<F, unknown>> {
  const fields = Object.keys(defaults) as F[];
  const out = {} as Record<F, unknown>;
  for (const f of fields) {
    const { value, type, unset } = resolved(def, f, defaults[f]);
    if (unset) {
      out[f] = undefined;
      continue;
    }
    if (!SYNC_TYPES.has(type)) return evaluateEach(RED, node, def, defaults, msg, fields);
    try {
      out[f] = RED.util.evaluateNodeProperty(value, type, node, msg);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return Promise.resolve(out);
}

async function evaluateEach<F extends string>(
  RED: RedApi,
  node: RedNode,
  def: NodeDef,
  defaults: FieldDefaults<F>,
  msg: NodeMessage,
  fields: F[],
): Promise<Record<F, unknown>> {
  const values = await Promise.all(fields.map((f) => evaluateField(RED, node, def, f, defaults[f], msg)));
  const out = {} as Record<F, unknown>;
  fields.forEach((f, i) => {
    out[f] = values[i];
  });
  return out;
}
