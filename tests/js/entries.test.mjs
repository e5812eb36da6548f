// Host entries through an exported function table (issue 10 item 1), both EH encodings, in
// Deno. Run by tests/entries.rs:   deno run --allow-read tests/js/entries.test.mjs DIR
// DIR holds exnref.wasm / legacy.wasm (tests/regressions/exported-table.*.wat processed) and
// exnref.raw.wasm / legacy.raw.wasm (the same, unprocessed). Slots: see the .wat files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { thrown } from './harness.mjs';

const [ADD1, TRAP, PANIC, BUMP, CALL_HOST, REENTER] = [1, 2, 3, 4, 5, 6];

function instantiate(file) {
  const host = { calls: 0, callback: (x) => x };
  const env = {
    host_callback: (x) => {
      host.calls++;
      return host.callback(x);
    },
  };
  const bytes = readFileSync(join(process.argv[2], file));
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
  return { exports, host, table: exports.table, sp: () => exports.stack_pointer_global.value };
}

function trapThroughTheTableEndsTheInstance(file) {
  const { exports, table } = instantiate(file);
  assert.equal(table.get(ADD1)(1), 2);
  assert.ok(thrown(() => table.get(TRAP)(0)) instanceof WebAssembly.RuntimeError);
  assert.equal(exports.__wasm_unwind_state(), 1, 'the trap through the table went unnoticed');
  assert.ok(thrown(() => exports.add1(1)) instanceof WebAssembly.RuntimeError);
}

function afterAnAbortNothingThroughTheTableRuns(file) {
  const { exports, table, host } = instantiate(file);
  assert.ok(thrown(() => exports.trap(0)) instanceof WebAssembly.RuntimeError);
  assert.ok(thrown(() => table.get(BUMP)(5)) instanceof WebAssembly.RuntimeError);
  assert.equal(exports.count.value, 0, 'bump ran after the abort');
  thrown(() => table.get(CALL_HOST)(3));
  assert.equal(host.calls, 0, 'a host import ran after the abort');
}

function aPanicThroughTheTableRestoresTheStackPointer(file) {
  const { exports, table, sp } = instantiate(file);
  const before = sp();
  for (let i = 0; i < 100; i++) {
    const e = thrown(() => table.get(PANIC)(i));
    assert.ok(e instanceof WebAssembly.Exception, String(e));
    assert.ok(e.is(exports.__wasm_unwind_tag));
    assert.equal(e.getArg(exports.__wasm_unwind_tag, 0), i);
    assert.equal(sp(), before, `after panic ${i}`);
  }
  assert.equal(exports.__wasm_unwind_state(), 0);
  assert.equal(table.get(ADD1)(41), 42);
}

function internalCalls(file) {
  const { exports, table, host, sp } = instantiate(file);
  host.callback = (x) => table.get(ADD1)(x) * 100; // a host entry while Rust waits on the host
  const start = sp();
  const seen = [
    exports.dispatch(ADD1, 41),
    exports.dispatch(BUMP, 2),
    exports.dispatch(BUMP, 3),
    exports.dispatch(REENTER, 9),
    exports.dispatch(CALL_HOST, 4),
    exports.catch_dispatch(PANIC, 1),
    exports.catch_dispatch(REENTER, 5),
  ];
  for (let i = 0; i < 1000; i++) seen.push(exports.catch_dispatch(PANIC, 1));
  seen.push(sp() - start, exports.count.value);
  return { seen, exports };
}

function internalIndirectCallsAreUnchanged(encoding) {
  const raw = internalCalls(`${encoding}.raw.wasm`).seen;
  const { seen, exports } = internalCalls(`${encoding}.wasm`);
  assert.deepEqual(seen, raw);
  assert.deepEqual(raw.slice(0, 7), [42, 2, 5, 10, 500, -1, 6]);
  assert.equal(exports.__wasm_unwind_state(), 0, 'an internal call was refused');
}

function exportAndTableEntryAreOneFunction(file) {
  // A host that compares what it got from the exports with what it got from the table sees
  // the same function, as before processing.
  const { exports, table } = instantiate(file);
  assert.equal(table.get(ADD1), exports.add1);
  assert.equal(table.get(TRAP), exports.trap);
}

function handedOutFuncrefIsTheOriginal(file) {
  // Decision (README, "Function tables"): the module's own funcref values stay the original
  // functions, so one handed to the host is not the (wrapped) export and is not guarded.
  const { exports } = instantiate(file);
  const f = exports.add1_ref();
  assert.equal(f(1), 2);
  assert.notEqual(f, exports.add1);
  thrown(() => exports.trap(0));
  assert.equal(f(1), 2, 'the handed-out funcref is unguarded, as documented');
}

for (const encoding of ['exnref', 'legacy']) {
  const file = `${encoding}.wasm`;
  trapThroughTheTableEndsTheInstance(file);
  afterAnAbortNothingThroughTheTableRuns(file);
  aPanicThroughTheTableRestoresTheStackPointer(file);
  internalIndirectCallsAreUnchanged(encoding);
  exportAndTableEntryAreOneFunction(file);
  exportAndTableEntryAreOneFunction(`${encoding}.raw.wasm`);
  handedOutFuncrefIsTheOriginal(file);
  console.log(`ok: function table entries, ${encoding}`);
}
