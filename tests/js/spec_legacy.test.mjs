// The spec's legacy EH shapes (tests/spec/legacy/*.wat) in V8, run by `cargo test --test spec
// legacy` (tests/spec/legacy.rs), which writes into WASM_UNWIND_JS_DIR, for each module NAME:
//   NAME.unprocessed.wasm   the module as written
//   NAME.noguard.wasm       processed with abort_guard: false
//   NAME.wasm               processed with the defaults
// Every variant must give the expected outcome of every call: processed computes what
// unprocessed does, exceptions leave as they came (tag, payload, the same JS object).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DIR_ENV } from './harness.mjs';

const VARIANTS = { unprocessed: 'unprocessed.wasm', noguard: 'noguard.wasm', guard: 'wasm' };

// [export, argument, outcome] per module; `$throw` in each module throws by its argument:
// 0 the tag e0, 1 e1(11), 2 the i64 tag (33, or 22 in rethrow.wat), 3 a JS exception, 4 nothing.
const CASES = {
  try_catch: [
    ['catch_each', [0, 'ret 100'], [1, 'ret 111'], [2, 'ret 333'], [3, 'ret 999'], [4, 'ret -1']],
    ['catch_e1', [0, 'exception e0'], [1, 'ret 11'], [2, 'exception e3 33'], [3, 'js error'], [4, 'ret -1']],
    ['nested', [0, 'ret 7'], [1, 'ret 7'], [2, 'ret 33'], [3, 'ret 7'], [4, 'ret -1']],
  ],
  rethrow: [
    ['rethrow_depth', [0, 'ret 500'], [1, 'ret 1011'], [2, 'exception e2 22'], [3, 'js error'], [4, 'ret -1']],
    ['rethrow_all', [0, 'exception e0'], [1, 'exception e1 11'], [2, 'exception e2 22'], [3, 'js error'], [4, 'ret -1']],
  ],
  delegate: [
    ['delegate_outer', [0, 'ret 3'], [1, 'ret 2011'], [2, 'ret 3'], [3, 'ret 3'], [4, 'ret -1']],
    ['delegate_skip', [0, 'exception e0'], [1, 'ret 5011'], [2, 'exception e3 33'], [3, 'js error'], [4, 'ret -1']],
    ['delegate_caller', [0, 'exception e0'], [1, 'ret 4011'], [2, 'exception e3 33'], [3, 'js error'], [4, 'ret -1']],
  ],
};

function instantiate(name, variant) {
  const dir = process.env[DIR_ENV];
  assert.ok(dir, `${DIR_ENV} is not set: run through \`cargo test --test spec legacy\``);
  const jsError = new Error('thrown by env.throw_js');
  const module = new WebAssembly.Module(readFileSync(join(dir, `${name}.${VARIANTS[variant]}`)));
  const env = { throw_js() { throw jsError; } };
  return { exports: new WebAssembly.Instance(module, { env }).exports, jsError };
}

/** What a call did, as text: its result, the exception (tag and payload) or the error's type. */
function outcome({ exports, jsError }, name, arg) {
  try {
    return `ret ${exports[name](arg)}`;
  } catch (e) {
    if (e === jsError) return 'js error';
    if (!(e instanceof WebAssembly.Exception)) return e.constructor.name;
    const tags = Object.entries(exports).filter(([, v]) => v instanceof WebAssembly.Tag);
    const [tag, t] = tags.find(([, t]) => e.is(t)) ?? ['unknown tag'];
    return tag === 'e0' || !t ? `exception ${tag}` : `exception ${tag} ${e.getArg(t, 0)}`;
  }
}

for (const [name, cases] of Object.entries(CASES)) {
  for (const variant of Object.keys(VARIANTS)) {
    test(`${name}.wat ${variant}: every call gives the spec's outcome`, () => {
      const instance = instantiate(name, variant);
      for (const [fn, ...calls] of cases) {
        for (const [arg, expected] of calls) {
          assert.equal(outcome(instance, fn, arg), expected, `${fn}(${arg})`);
        }
      }
      if (variant === 'guard') {
        // Exceptions that left the instance are not traps: it keeps serving.
        assert.equal(instance.exports.__wasm_unwind_state(), 0);
      }
    });
  }
}

test('try_catch.wat: a trap passes catch_all; with the guard every later call traps', () => {
  for (const variant of Object.keys(VARIANTS)) {
    const instance = instantiate('try_catch', variant);
    assert.equal(outcome(instance, 'trap'), 'RuntimeError', variant);
    const after = outcome(instance, 'catch_each', 1);
    if (variant === 'guard') {
      assert.equal(after, 'RuntimeError', variant);
      assert.equal(instance.exports.__wasm_unwind_state(), 1);
    } else {
      assert.equal(after, 'ret 111', variant);
    }
  }
});
