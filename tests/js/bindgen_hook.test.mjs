// wasm-bindgen's abort flow, played by hand over tests/regressions/bindgen-abort-hook.wat
// processed (issue 11): this file does what its glue does after a trap. Run by tests/entries.rs:
//   deno run --allow-read tests/js/bindgen_hook.test.mjs FILE.wasm
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { thrown } from './harness.mjs';

const module = new WebAssembly.Module(readFileSync(process.argv[2]));

function instantiate() {
  const app = { reinits: 0, logs: 0 };
  const imports = {
    './bindgen_bg.js': {
      __wbindgen_reinit: () => app.reinits++,
      __wbg_log: () => app.logs++,
    },
  };
  const exports = new WebAssembly.Instance(module, imports).exports;
  const u32 = () => new Uint32Array(exports.memory.buffer);
  Object.assign(app, {
    exports,
    flag: () => u32()[exports.__instance_terminated.value / 4],
    setFlag: () => (u32()[exports.__instance_terminated.value / 4] = 1),
    // wasm-bindgen 0.2.130's __wbg_call_abort_hook, as its glue writes it.
    callAbortHook: () => {
      try {
        const slot = u32()[exports.__abort_handler.value / 4];
        if (slot) exports.__wbindgen_export_2.get(slot)();
      } catch (_) {}
    },
  });
  return app;
}

// Its __wbg_handle_catch after a trap, with or without the host asking our state first.
for (const readState of [false, true]) {
  const app = instantiate();
  app.exports.set_hook();
  assert.equal(app.exports.counter_inc(), 1);
  assert.ok(thrown(() => app.exports.abort_now()) instanceof WebAssembly.RuntimeError);
  if (readState) assert.equal(app.exports.__wasm_unwind_state(), 1);
  app.setFlag();
  app.callAbortHook();
  assert.equal(app.reinits, 1, `the hook scheduled a reinit (state read first: ${readState})`);
  assert.equal(app.exports.__wasm_unwind_state(), 1, 'still terminated after the hook');
  // Nothing else runs: exports, and other entries of its table.
  assert.ok(thrown(() => app.exports.counter_inc()) instanceof WebAssembly.RuntimeError);
  assert.ok(thrown(() => app.exports.__wbindgen_export_2.get(3)()) instanceof WebAssembly.RuntimeError);
  assert.equal(app.exports.count.value, 1, 'nothing but the hook ran after the abort');
  assert.equal(app.logs, 1);
}

// A trap the glue never saw (the host called the export itself): our guard sees it and sets
// wasm-bindgen's flag, so its glue's next call runs the hook and reinitialises.
{
  const app = instantiate();
  app.exports.set_hook();
  assert.ok(thrown(() => app.exports.abort_now()) instanceof WebAssembly.RuntimeError);
  assert.equal(app.flag(), 0);
  assert.equal(app.exports.__wasm_unwind_state(), 1);
  assert.equal(app.flag(), 1, "wasm-bindgen's flag agrees with our guard");
  app.callAbortHook();
  assert.equal(app.reinits, 1);
}

// wasm-bindgen's flag set by the host (its documented way to terminate): our guard agrees.
{
  const app = instantiate();
  app.setFlag();
  assert.equal(app.exports.__wasm_unwind_state(), 1, "our state agrees with wasm-bindgen's flag");
  assert.ok(thrown(() => app.exports.counter_inc()) instanceof WebAssembly.RuntimeError);
  assert.equal(app.exports.count.value, 0);
  app.callAbortHook(); // the default hook (wasm-bindgen's no-op) runs, and nothing else
  assert.equal(app.reinits, 0);
}

// Before any abort, the hook and the table's entries are ordinary host entries.
{
  const app = instantiate();
  app.exports.__wbindgen_export_2.get(3)();
  assert.equal(app.exports.count.value, 1);
  app.exports.__wbindgen_export_2.get(2)();
  assert.equal(app.reinits, 1);
  assert.equal(app.exports.__wasm_unwind_state(), 0);
}
console.log('ok: wasm-bindgen abort hook, played by hand');
