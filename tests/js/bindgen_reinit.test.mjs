// wasm-bindgen's abort flow over a module wasm-unwind processed after its CLI (issue 11 item 1):
// the fixture's abort hook (registered by `reinit_after_abort`) schedules a reinit; wasm-bindgen's
// glue calls it through the exported function table after a trap, and the next call runs on a
// fresh instance. Our guard must never break that, and our flag and wasm-bindgen's must agree.
// Run by tests/bindgen.rs:   node tests/js/bindgen_reinit.test.mjs DIR   (nodejs target output)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

import { bindgenInstances, thrown } from './harness.mjs';

const { instances, exports: current, ourState, theirFlag } = bindgenInstances();

const app = createRequire(import.meta.url)(resolve(process.argv[2], 'bindgen.js'));

function freshInstanceServes(round) {
  assert.equal(instances.length, round, 'a fresh instance per abort');
  assert.equal(theirFlag(), 0);
  assert.equal(ourState(), 0);
  app.reinit_after_abort();
  assert.equal(app.counter_inc(), 1, 'a fresh instance starts from zero');
  assert.equal(app.counter_inc(), 2);
  assert.equal(app.greet('again'), 'Hello, again!');
}

let round = 1;
freshInstanceServes(round);

// 1. A trap through the glue, then the host asks our state (as the README tells hosts to): the
//    hook still runs through the table and schedules the reinit.
for (const readState of [false, true]) {
  assert.ok(thrown(() => app.abort_now()) instanceof WebAssembly.RuntimeError);
  assert.equal(theirFlag(), 1);
  if (readState) assert.equal(ourState(), 1, 'our guard saw the trap');
  assert.equal(app.counter_get(), 0, `after an abort (state read: ${readState}): a fresh instance`);
  freshInstanceServes(++round);
}

// 2. A trap the glue never saw (the host called the export itself): our guard sees it, and
//    wasm-bindgen's flag agrees, so the glue's next call runs the hook and gets a fresh instance.
assert.ok(thrown(() => current().abort_now()) instanceof WebAssembly.RuntimeError);
assert.equal(ourState(), 1, 'our guard saw the trap');
assert.equal(theirFlag(), 1, "wasm-bindgen's flag agrees with ours");
assert.equal(app.counter_get(), 0, 'the next call through the glue runs on a fresh instance');
freshInstanceServes(++round);

// 3. wasm-bindgen's flag set by the host (its documented way to terminate): ours agrees, and
//    nothing but the hook runs.
const exports = current();
new Uint32Array(exports.memory.buffer)[exports.__instance_terminated.value / 4] = 1;
assert.equal(ourState(), 1, "our state agrees with wasm-bindgen's flag");
assert.ok(thrown(() => exports.counter_inc()) instanceof WebAssembly.RuntimeError);
assert.equal(app.counter_get(), 0, 'the glue ran the hook and reinitialised');
freshInstanceServes(++round);

console.log('ok: wasm-bindgen abort hook and reinit over', process.argv[2]);
