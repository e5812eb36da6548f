// wasm-bindgen's class exports over a module wasm-unwind processed (issue 11 item 1): the
// destructor `__wbg_fuse_free` and the accessors `__wbg_get_holder_fuse` / `__wbg_set_holder_fuse`
// run the fixture's panicking `Drop` and `Clone` outside wasm-bindgen's own `catch_unwind`.
// Run by tests/bindgen.rs:   node --expose-gc tests/js/bindgen_class.test.mjs DIR   (nodejs glue)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { bindgenInstances, thrown } from './harness.mjs';

assert.equal(typeof globalThis.gc, 'function', 'run with --expose-gc');

const { instances, exports: raw, ourState, theirFlag } = bindgenInstances();

// How often the glue's FinalizationRegistry callbacks ran (an error in one is uncaught).
let finalised = 0;
globalThis.FinalizationRegistry = class extends FinalizationRegistry {
  constructor(callback) {
    super((held) => {
      finalised++;
      callback(held);
    });
  }
};

const app = createRequire(import.meta.url)(resolve(process.argv[2], 'bindgen.js'));
/** Takes a class object out of the glue's hands: its pointer, unregistered from finalisation. */
const pointer = (object) => object.__destroy_into_raw();

/** `call` unwinds with the Rust panic as it is, the stack pointer back where it was. */
function unwinds(call, what) {
  const depth = raw().stack_depth();
  const error = thrown(call, what);
  assert.ok(error instanceof WebAssembly.Exception, `${what}: ${error}`);
  assert.equal(raw().stack_depth(), depth, `${what}: stack pointer restored`);
  assert.equal(ourState(), 0, `${what}: an unwind is no abort`);
  assert.equal(theirFlag(), 0);
}

// 1. A host calling the class exports itself: a panic in each is contained, the instance lives.
for (let i = 0; i < 3; i++) {
  unwinds(() => raw().__wbg_fuse_free(pointer(new app.Fuse(true)), 0), 'free');
  const holder = new app.Holder(new app.Fuse(true));
  unwinds(() => raw().__wbg_get_holder_fuse(holder.__wbg_ptr), 'getter');
  const disarmed = pointer(new app.Fuse(false));
  unwinds(() => raw().__wbg_set_holder_fuse(holder.__wbg_ptr, disarmed), 'setter');
  // The setter stored the new value as its old one's Drop unwound: the holder works.
  holder.fuse.free();
  holder.free();
}
assert.equal(app.counter_inc(), 1, 'the instance kept working');
assert.equal(app.add(2, 3), 5);

// 2. Through the glue, an exception that is not its PanicError is fatal by wasm-bindgen's
//    design: it sets its flag and runs the abort hook, which here asks for a reinit. Our state
//    agrees, and the next call runs on a fresh instance.
app.reinit_after_abort();
const escaped = thrown(() => new app.Fuse(true).free(), 'free through the glue');
assert.ok(escaped instanceof WebAssembly.Exception, String(escaped));
assert.equal(theirFlag(), 1);
assert.equal(ourState(), 1, "our state agrees with wasm-bindgen's flag");
assert.equal(app.counter_get(), 0, 'a fresh instance');
assert.equal(instances.length, 2);

// 3. After an abort (no reinit asked for this time), no class export runs Rust code: the
//    fuses are armed, so a Drop or Clone that ran would panic.
const holder = new app.Holder(new app.Fuse(true));
const kept = pointer(new app.Fuse(true));
const spare = pointer(new app.Fuse(false));
const dropped = 20;
(() => {
  for (let i = 0; i < dropped; i++) new app.Fuse(true);
})();
assert.ok(thrown(() => app.abort_now()) instanceof WebAssembly.RuntimeError);
const refused = (call, what) => assert.ok(thrown(call, what) instanceof WebAssembly.RuntimeError, what);
refused(() => raw().__wbg_get_holder_fuse(holder.__wbg_ptr), 'getter after the abort');
refused(() => raw().__wbg_set_holder_fuse(holder.__wbg_ptr, spare), 'setter after the abort');
// A refused destructor returns: the glue calls it from finalisers, where nothing catches.
assert.equal(raw().__wbg_fuse_free(kept, 0), undefined);
assert.match(String(thrown(() => holder.fuse)), /terminated/i);
assert.equal(ourState(), 1);
// The glue's finalisers free the dropped fuses on the terminated instance: nothing may throw.
for (let round = 0; round < 100 && finalised < dropped; round++) {
  globalThis.gc();
  await sleep(10);
}
assert.ok(finalised >= dropped, `only ${finalised} of ${dropped} finalisers ran`);
console.log('ok: wasm-bindgen class exports over', process.argv[2]);
