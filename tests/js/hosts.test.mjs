// JS mode end to end, in whichever engine runs this file (tests/js_hosts.rs runs it in Deno,
// Node 24, and, legacy encoding only, this machine's Node 20). Uses only `node:` built-ins that both engines have, and its own tiny runner,
// so the same file runs unchanged in both.
//
// WASM_UNWIND_JS_DIR holds, written by tests/js_hosts.rs:
//   wasm-unwind.mjs                    the glue from `--emit-js`
//   panics-rt.{exnref,legacy}.wasm     fixtures linking wasm-unwind-runtime, processed with --js
//   panics.{exnref,legacy}.wasm        fixtures without the runtime, processed with --js
//   panics-rt.{exnref,legacy}.noguard.wasm   panics-rt processed with --js and no abort guard
//   first-c.{exnref,legacy}.wasm       the README's first module with `extern "C"` exports (the
//                                      runtime linked), processed with --js

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { many, thrown } from './harness.mjs';

const dir = process.env.WASM_UNWIND_JS_DIR;
assert.ok(dir, 'WASM_UNWIND_JS_DIR is not set: run through `cargo test --test js_hosts`');
const glue = await import(pathToFileURL(join(dir, 'wasm-unwind.mjs')).href);
const { instantiate, PanicError, TerminatedError, UNKNOWN_MESSAGE } = glue;

const tests = [];
const test = (name, body) => tests.push({ name, body });

/** A loader over `file` whose host callback is `host.callback` (identity by default). */
async function load(file, options = {}) {
  const host = { callback: (x) => x, calls: 0 };
  const env = {
    host_callback: (x) => {
      host.calls++;
      return host.callback(x);
    },
    host_callback_nounwind: (x) => x,
  };
  const app = await instantiate(readFileSync(join(dir, file)), { env }, options);
  return { app, e: app.exports, host };
}

const PANICS = many(100_000);

// Node 20 runs the legacy encoding only.
const encodings = (process.env.WASM_UNWIND_ENCODINGS ?? 'exnref,legacy').split(',');
for (const encoding of encodings) {
  const rt = `panics-rt.${encoding}.wasm`;
  const plain = `panics.${encoding}.wasm`;
  const noguard = `panics-rt.${encoding}.noguard.wasm`;

  test(`${encoding}: a panic is a PanicError with the exact message`, async () => {
    const { e } = await load(rt);
    for (const [call, message] of [
      [() => e.panic_fmt(13), 'unlucky 13'],
      [() => e.panic_static(), 'static panic message'],
      [() => e.panic_recurse_drop(4), 'bottom reached at depth 4'],
      [() => e.panic_in_iter(7), 'iterator hit 7'],
    ]) {
      const error = thrown(call);
      assert.ok(error instanceof PanicError, `${error} is a PanicError`);
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'PanicError');
      assert.equal(error.message, message);
    }
  });

  test(`${encoding}: state survives a panic and Rust's catch ends it`, async () => {
    const { e } = await load(rt);
    const sp = e.stack_pointer();
    assert.equal(e.counter_inc(), 1);
    assert.ok(thrown(() => e.panic_recurse_drop(5)) instanceof PanicError);
    assert.equal(e.drops_get(), 5, 'every frame dropped its guard');
    assert.equal(e.counter_inc(), 2);
    assert.equal(e.is_panicking(), 0, 'std::thread::panicking() is false again');
    assert.equal(e.stack_pointer(), sp);
    assert.equal(e.panic_fmt(21), 42);
  });

  test(`${encoding}: ${PANICS} panics, no memory growth with the runtime`, async () => {
    const { e } = await load(rt);
    thrown(() => e.panic_fmt(13)); // the message buffer takes its size once
    const sp = e.stack_pointer();
    const before = e.memory.buffer.byteLength;
    for (let i = 0; i < PANICS; i++) {
      const error = thrown(() => e.panic_fmt(13));
      if (!(error instanceof PanicError) || error.message !== 'unlucky 13') assert.fail(`panic ${i}: ${error}`);
    }
    const after = e.memory.buffer.byteLength;
    console.log(`  memory with the runtime: ${before} -> ${after} bytes after ${PANICS} panics`);
    assert.equal(after, before);
    assert.equal(e.stack_pointer(), sp);
    assert.equal(e.is_panicking(), 0);
    assert.equal(e.counter_inc(), 1);
  });

  test(`${encoding}: without the runtime, PanicError says the message is unknown`, async () => {
    const { e } = await load(plain);
    const sp = e.stack_pointer();
    const error = thrown(() => e.panic_fmt(13));
    assert.ok(error instanceof PanicError);
    assert.equal(error.message, UNKNOWN_MESSAGE);
    const before = e.memory.buffer.byteLength;
    for (let i = 0; i < PANICS; i++) thrown(() => e.panic_fmt(13));
    const after = e.memory.buffer.byteLength;
    console.log(`  memory without the runtime: ${before} -> ${after} bytes after ${PANICS} panics`);
    assert.ok(after > before, 'each uncaught payload leaks without the runtime');
    assert.equal(e.stack_pointer(), sp);
    assert.equal(e.counter_inc(), 1);
  });

  test(`${encoding}: a host exception passes through as itself`, async () => {
    const { e, host } = await load(rt);
    const mine = new TypeError('from the host');
    host.callback = () => {
      throw mine;
    };
    assert.equal(thrown(() => e.call_host(1)), mine);
    host.callback = (x) => x * 10;
    assert.equal(e.call_host(2), 21, 'the merged imports are the user\'s');
    assert.equal(host.calls, 2);
  });

  test(`${encoding}: after an abort every call is a TerminatedError`, async () => {
    let aborts = 0;
    const { app, e } = await load(rt, { onAbort: () => aborts++ });
    e.counter_inc();
    const error = thrown(() => e.abort_now());
    assert.ok(error instanceof WebAssembly.RuntimeError, `${error}`);
    assert.equal(aborts, 1);
    assert.ok(app.terminated);
    assert.ok(thrown(() => e.counter_get()) instanceof TerminatedError);
    assert.ok(thrown(() => e.add(1, 2)) instanceof TerminatedError);
    // The instance refuses by itself too, for callers that bypass the loader.
    assert.ok(thrown(() => app.instance.exports.counter_get()) instanceof TerminatedError);
    assert.equal(app.generation, 1);
  });

  test(`${encoding}: an abort from a panic that cannot unwind says why`, async () => {
    // The runtime's panic hook kept the message; an abort that is no panic stays bare.
    for (const file of [rt, noguard]) {
      const { e } = await load(file);
      const error = thrown(() => e.panic_nounwind());
      assert.ok(error instanceof WebAssembly.RuntimeError, `${error}`);
      assert.equal(error.message, 'aborted: panic in a function that cannot unwind: in nounwind', file);
      const other = (await load(file)).e;
      const bare = thrown(() => other.abort_now()).message;
      assert.ok(!bare.startsWith('aborted:'), `${file}: ${bare}`);
    }
    // Without the runtime nothing kept it.
    const { e } = await load(plain);
    const unknown = thrown(() => e.panic_nounwind()).message;
    assert.ok(!unknown.startsWith('aborted:'), unknown);
  });

  test(`${encoding}: the first module with extern "C" exports: push(13) aborts and says why`, async () => {
    const { app, e } = await load(`first-c.${encoding}.wasm`, { fresh: true });
    assert.equal(e.push(1), 1);
    assert.equal(e.push(2), 3);
    const error = thrown(() => e.push(13));
    assert.ok(!(error instanceof PanicError), `${error}`);
    assert.equal(error.message, 'aborted: panic in a function that cannot unwind: unlucky 13');
    assert.equal(e.total(), 0, 'the next call runs on a fresh instance');
    assert.equal(app.generation, 2);
  });

  test(`${encoding}: without the abort guard, the loader tells aborts from host errors`, async () => {
    const { app, e, host } = await load(noguard);
    assert.equal(e.__wasm_unwind_state, undefined, 'the module has no abort guard');
    // Not aborts: a panic, whatever the host throws (even a trap's type), a value that does not
    // convert at the boundary.
    assert.ok(thrown(() => e.panic_fmt(13)) instanceof PanicError);
    for (const mine of [new RangeError('from the host'), new WebAssembly.RuntimeError('from the host')]) {
      host.callback = () => {
        throw mine;
      };
      assert.equal(thrown(() => e.call_host(1)), mine);
    }
    assert.ok(thrown(() => e.add(1n, 2)) instanceof TypeError);
    assert.equal(app.terminated, false);
    assert.equal(e.add(2, 3), 5);

    // Aborts of every kind, stack exhaustion too (its error type is the engine's own).
    for (const [what, call] of [
      ['abort_now()', (e) => e.abort_now()],
      ['trap_div_zero(1, 0)', (e) => e.trap_div_zero(1, 0)],
      ['trap_stack_overflow(1)', (e) => e.trap_stack_overflow(1)],
    ]) {
      let aborts = 0;
      const { app, e } = await load(noguard, { onAbort: () => aborts++ });
      const error = thrown(() => call(e), what);
      assert.ok(app.terminated, `${what} threw ${error} (${error?.constructor?.name}): not taken for an abort`);
      assert.equal(aborts, 1, what);
      assert.ok(thrown(() => e.counter_get()) instanceof TerminatedError, what);
    }
  });

  test(`${encoding}: a trap in another instance's function it calls is an abort too`, async () => {
    // `(func (export "f") (param i32) (result i32) unreachable)`, imported as the host callback:
    // the trap is that instance's, so this one's guard cannot see it (README "Limits").
    const trapper = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0,
      7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11,
    ]))).exports.f;
    const env = { host_callback: trapper, host_callback_nounwind: (x) => x };
    const app = await instantiate(readFileSync(join(dir, rt)), { env });
    const error = thrown(() => app.exports.call_host(1));
    assert.ok(error instanceof WebAssembly.RuntimeError, `${error}`);
    assert.equal(app.instance.exports.__wasm_unwind_state(), 0, 'the guard saw a trap not its own');
    assert.ok(app.terminated, 'the loader did not take the trap for an abort');
    assert.ok(thrown(() => app.exports.counter_get()) instanceof TerminatedError);

    // The host's own RuntimeError, thrown by JS, is not an abort, guard or not.
    const { app: other, e, host } = await load(rt);
    const mine = new WebAssembly.RuntimeError('from the host');
    host.callback = () => {
      throw mine;
    };
    assert.equal(thrown(() => e.call_host(1)), mine);
    assert.equal(other.terminated, false);
    assert.equal(e.add(2, 3), 5);
  });

  test(`${encoding}: with fresh, calls after an abort get a new instance`, async () => {
    const { app, e } = await load(rt, { fresh: true });
    assert.equal(e.counter_inc(), 1);
    assert.equal(e.counter_inc(), 2);
    thrown(() => e.abort_now());
    assert.equal(e.counter_get(), 0, 'a fresh instance starts over');
    assert.equal(app.generation, 2);
    assert.equal(app.terminated, false);
    assert.equal(thrown(() => e.panic_fmt(13)).message, 'unlucky 13');
    assert.equal(e.counter_inc(), 1);
    thrown(() => e.trap_div_zero(1, 0));
    assert.equal(e.add(2, 3), 5);
    assert.equal(app.generation, 3);
  });
}

assert.ok(tests.length > 0, `no tests for the encodings ${encodings}`);
let failed = 0;
for (const { name, body } of tests) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}\n${error?.stack ?? error}`);
  }
}
console.log(`${tests.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
