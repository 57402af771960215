import assert from 'node:assert/strict';
import { copyJson } from '../../src/era/util/copy';

describe('client: copyJson, each flow its own payload', () => {
  it('copies every level: editing the copy leaves the original alone', () => {
    const original = JSON.parse('{"a":1,"s":"x","n":null,"o":{"b":[1,{"c":2}],"d":{"e":"f"}},"l":[[1],[2]]}') as Record<string, unknown>;
    const copy = copyJson(original);
    assert.deepEqual(copy, original);
    (copy.o as { d: { e: string } }).d.e = 'changed';
    ((copy.o as { b: Array<{ c: number }> }).b[1]!).c = 3;
    (copy.l as number[][])[0]!.push(9);
    assert.deepEqual(original, JSON.parse('{"a":1,"s":"x","n":null,"o":{"b":[1,{"c":2}],"d":{"e":"f"}},"l":[[1],[2]]}'));
  });

  it('keeps a "__proto__" key an own key and never sets the copy\'s prototype', () => {
    const copy = copyJson(JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.keys(copy), ['__proto__', 'a']);
    assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  });

  it('copies in nothing that was added to Object.prototype', () => {
    Object.defineProperty(Object.prototype, 'injected', { value: { x: 1 }, enumerable: true, configurable: true });
    try {
      const copy = copyJson(JSON.parse('{"a":{"b":1}}') as Record<string, unknown>);
      assert.deepEqual(Object.keys(copy), ['a']);
      assert.equal(Object.hasOwn(copy, 'injected'), false);
    } finally {
      delete (Object.prototype as { injected?: unknown }).injected;
    }
  });
});
