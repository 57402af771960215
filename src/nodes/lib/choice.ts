import type { NodeDef, NodeMessage } from './red';

/**
 * A choice field (`mode`, `action`, ...) whose value `msg` hands the decision to the
 * message: the value then comes from `msg[msgProperty]`, unchecked here — the client's
 * validation names what it accepts.
 */
export function choice(def: NodeDef, field: string, msg: NodeMessage, msgProperty: string, fallback: string): unknown {
  const configured = typeof def[field] === 'string' && def[field] ? (def[field] as string) : fallback;
  return configured === 'msg' ? msg[msgProperty] : configured;
}

/** A comma list from the editor as a clean array. */
export function commaList(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}
