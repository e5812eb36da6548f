// A wasm-bindgen from before its own unwind and abort support (fixtures/bindgen-old, 0.2.106):
// its exports are `extern "C-unwind"` with no catch_unwind, and its glue neither catches a panic
// nor notices a trap. Processed after its CLI, a panic is contained and an abort is final;
// unprocessed, the shadow stack leaks and calls go on after an abort. Run by tests/bindgen.rs:
//   node tests/js/bindgen_old.test.mjs DIR processed|unprocessed   (its nodejs glue in DIR)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

import { thrown } from './harness.mjs';

const processed = { processed: true, unprocessed: false }[process.argv[3]];
assert.equal(typeof processed, 'boolean', 'second argument: processed or unprocessed');

// The instance its glue makes, for our state export, which the glue does not hand out.
let instance;
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  instance = new Instance(module, imports);
  return instance;
};
WebAssembly.Instance.prototype = Instance.prototype;

const app = createRequire(import.meta.url)(resolve(process.argv[2], 'bindgen.js'));
assert.equal(app.add(2, 3), 5);
assert.equal(app.counter_inc(), 1);

// A panic leaves as the Rust exception itself (this version has no PanicError).
const depth = app.stack_depth();
for (let i = 0; i < 3; i++) {
  const panic = thrown(() => app.panic_with(`boom ${i}`));
  assert.ok(panic instanceof WebAssembly.Exception, String(panic));
}
const after = app.stack_depth();
if (processed) assert.equal(after, depth, 'stack pointer restored');
else assert.ok(after < depth, `the shadow stack leaks: ${depth} -> ${after}`);
assert.equal(app.counter_get(), 1, 'state kept');
assert.equal(app.greet('again'), 'Hello, again!');

// An abort: its glue does not notice; processed, every later call is refused.
assert.ok(thrown(() => app.abort_now()) instanceof WebAssembly.RuntimeError);
if (processed) {
  assert.ok(thrown(() => app.counter_get()) instanceof WebAssembly.RuntimeError);
  assert.ok(thrown(() => app.add(1, 1)) instanceof WebAssembly.RuntimeError);
  assert.equal(instance.exports.__wasm_unwind_state(), 1);
} else {
  assert.equal(app.counter_get(), 1, 'unprocessed, Rust code runs after the abort');
}
console.log(`ok: wasm-bindgen before its unwind support, ${process.argv[3]}, over`, process.argv[2]);
