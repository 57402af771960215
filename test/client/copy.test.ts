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

  it('copies nesting as deep as JSON.parse reads (200,000 levels) without overflowing the stack', () => {
    const depth = 200_000;
    const original = JSON.parse(`${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`) as Record<string, unknown>;
    const copy = copyJson(original);
    let o: unknown = original;
    let c: unknown = copy;
    for (let i = 0; i < depth; i++) {
      assert.notEqual(c, o);
      o = ((o as { a: unknown[] }).a)[0];
      c = ((c as { a: unknown[] }).a)[0];
    }
    assert.equal(c, 1);
  });

  it('copies what sits under a "__proto__" key too', () => {
    const original = JSON.parse('{"__proto__":{"x":1}}') as Record<string, { x: number }>;
    const copy = copyJson(original);
    copy.__proto__!.x = 2;
    assert.equal(original.__proto__!.x, 1);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  });
});
