// Shared helpers for the JS tests (not a test file itself). `thrown` serves every file; the rest
// serves the default-mode tests (contain, abort_guard) in Node (legacy EH) and browsers (both).
//
// The modules come from tests/engines/modules.rs (`default_mode`), which runs the fixtures
// through the library and writes them into a fresh directory named by WASM_UNWIND_JS_DIR, for
// the encoding E named by WASM_UNWIND_ENCODING (default legacy, all Node 20 runs):
//   panics.E.wasm                   fixtures/wasm/panics.E.wasm, processed (defaults)
//   panics.E.noguard.wasm           the same, processed with abort_guard: false
//   panics.E.unprocessed.wasm       the fixture as built, untouched
//   abort.wasm                      fixtures/wasm/abort.wasm, processed (defaults)
//   probe.catch_all.wasm            a hand-written legacy-EH probe of the engine (see abort_guard.test.mjs)

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIR_ENV = 'WASM_UNWIND_JS_DIR';

function dir() {
  const d = process.env[DIR_ENV];
  // Not a skip: without the modules nothing here can be tested.
  assert.ok(d, `${DIR_ENV} is not set: run these tests through \`cargo test --test contain\` or \`--test abort_guard\``);
  return d;
}

/** The EH encoding of the modules the default-mode tests load (read when a test file loads). */
export function encoding() {
  return process.env.WASM_UNWIND_ENCODING ?? 'legacy';
}

/** How often the long loops go round: `count`, or WASM_UNWIND_MANY (engines differ sixfold). */
export function many(count) {
  const n = process.env.WASM_UNWIND_MANY;
  return n ? Number(n) : count;
}

/**
 * The error type this engine raises when the stack is exhausted, found by exhausting it: it is
 * the engine's own (RangeError in V8, InternalError in SpiderMonkey).
 */
export const StackExhaustion = (() => {
  const recurse = (n) => recurse(n + 1) + 1;
  try {
    recurse(0);
  } catch (error) {
    return error.constructor;
  }
})();

const compiled = new Map();

/** The compiled module `name` from the test directory. */
export function module(name) {
  if (!compiled.has(name)) {
    compiled.set(name, new WebAssembly.Module(readFileSync(join(dir(), name))));
  }
  return compiled.get(name);
}

/**
 * A fresh instance of `name` with counting host imports. The callbacks' behaviour is set per
 * test through `host.callback` / `host.nounwind` (default: return the argument).
 */
export function instantiate(name) {
  const host = {
    calls: { host_callback: 0, host_callback_nounwind: 0 },
    callback: (x) => x,
    nounwind: (x) => x,
  };
  const env = {
    host_callback: (x) => {
      host.calls.host_callback++;
      return host.callback(x);
    },
    host_callback_nounwind: (x) => {
      host.calls.host_callback_nounwind++;
      return host.nounwind(x);
    },
  };
  const instance = new WebAssembly.Instance(module(name), { env });
  return { instance, exports: instance.exports, host };
}

/** Calls `f` and returns what it threw; fails the test when it returns. */
export function thrown(f, what = 'the call') {
  let value;
  try {
    value = f();
  } catch (err) {
    return err;
  }
  assert.fail(`${what} returned ${value} instead of throwing`);
}

/** Every function export, by name, except the ones in `except`. */
export function functionExports(exports, except = []) {
  return Object.entries(exports).filter(
    ([name, value]) => typeof value === 'function' && !except.includes(name),
  );
}

/** Calls an export with every argument 1 (all the fixtures' parameters are i32). */
export function callWithOnes(fn) {
  return fn(...new Array(fn.length).fill(1));
}

/** SHA-256 of a whole memory, read through views in 64 MiB pieces (no copy of the memory). */
export function memoryHash(memory) {
  const buffer = memory.buffer;
  const hash = createHash('sha256');
  const piece = 64 * 1024 * 1024;
  for (let offset = 0; offset < buffer.byteLength; offset += piece) {
    hash.update(new Uint8Array(buffer, offset, Math.min(piece, buffer.byteLength - offset)));
  }
  return hash.digest('hex');
}

/** The first offset at which two byte arrays differ, or -1. */
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return i;
  }
  return a.length === b.length ? -1 : n;
}

/** The exception class at the start of Rust's `_Unwind_Exception` header. */
export const RUST_EXCEPTION_CLASS = 'MOZ\0RUST';

/** The 8 bytes at `address` in `memory`, as a latin1 string. */
export function classAt(memory, address) {
  return Buffer.from(memory.buffer, address, 8).toString('latin1');
}

/**
 * Every instance wasm-bindgen's glue makes from now on (the first, and one per reinit), to reach
 * the exports its glue does not hand out: `exports()` is the newest one's, `ourState()` our
 * state export, `theirFlag()` wasm-bindgen's terminated flag.
 */
export function bindgenInstances() {
  const instances = [];
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const instance = new Instance(module, imports);
    instances.push(instance);
    return instance;
  };
  WebAssembly.Instance.prototype = Instance.prototype;
  const exports = () => instances.at(-1).exports;
  return {
    instances,
    exports,
    ourState: () => exports().__wasm_unwind_state(),
    theirFlag: () => {
      const e = exports();
      return new Uint32Array(e.memory.buffer)[e.__instance_terminated.value / 4];
    },
  };
}
