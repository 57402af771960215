/**
 * The path pattern of era-webhook's editor dialog (nodes/era-webhook.html) and of the runtime
 * (http-route.ts): the same paths pass, and a long pasted path with a stray character is refused
 * at once. A pattern that backtracks exponentially would freeze the editor's tab; here it runs
 * in a context that is cut off after a few seconds, so such a pattern fails instead of hanging.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { routePath } from '../../src/nodes/lib/http-route';

const HTML = path.resolve(__dirname, '..', '..', 'nodes', 'era-webhook.html');

/** The editor's `var PATH = /…/;`, as the dialog's validator uses it. */
function editorPattern(): RegExp {
  const source = /var PATH = (\/.+\/);\n/.exec(fs.readFileSync(HTML, 'utf8'))?.[1];
  assert.ok(source, 'the editor defines PATH');
  return vm.runInNewContext(source) as RegExp;
}

/** Whether `pattern` matches `text`, or 'stuck' when it has not decided after 5 s. */
function decide(pattern: RegExp, text: string): boolean | 'stuck' {
  try {
    return vm.runInNewContext('pattern.test(text)', { pattern, text }, { timeout: 5000 }) as boolean;
  } catch (err) {
    // Thrown from the cut-off context: not an Error of this one.
    if (/timed out/.test(String(err))) return 'stuck';
    throw err;
  }
}

describe('era-webhook path patterns (editor and runtime)', function () {
  const good = ['/era/events', 'era/events', '/era/events/', 'a', '/a.b_c~d-e/F9', '/x/'];
  const bad = ['', '/', '/era//events', '/era/events?secret=x', '/события', '/era/:kind', '/era events', '/era\n/events', '/*'];
  const long = ['a'.repeat(5000), '/a'.repeat(3000), `${'ab/'.repeat(2000)}x`].map((p) => `${p}?`);

  it('the editor takes the paths the runtime takes, and refuses what it refuses', function () {
    const pattern = editorPattern();
    for (const p of good) {
      assert.equal(decide(pattern, p), true, `editor: ${JSON.stringify(p)}`);
      assert.notEqual(routePath(p), undefined, `runtime: ${JSON.stringify(p)}`);
    }
    for (const p of bad) {
      assert.equal(decide(pattern, p), false, `editor: ${JSON.stringify(p)}`);
      assert.equal(routePath(p), undefined, `runtime: ${JSON.stringify(p)}`);
    }
  });

  it('a long pasted path ending in "?" is refused at once, not after exponential backtracking', function () {
    this.timeout(60_000);
    const pattern = editorPattern();
    for (const p of long) {
      assert.equal(decide(pattern, p), false, `editor: ${p.length} characters`);
      assert.equal(routePath(p), undefined, `runtime: ${p.length} characters`);
    }
    assert.equal(routePath(`${'/'.repeat(100_000)}x${'/'.repeat(100_000)}`), '/x', 'slashes around a path trimmed in one pass');
  });
});
