// Panics contained at the export boundary (issue 2), in the encoding WASM_UNWIND_ENCODING names
// (see harness.mjs). Run through `cargo test --test contain` (Node 20, legacy) and
// `cargo test --test browsers` (Chromium, Firefox; both encodings).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RUST_EXCEPTION_CLASS, classAt, encoding, instantiate, many, thrown } from './harness.mjs';

const PROCESSED = `panics.${encoding()}.wasm`;
const UNPROCESSED = `panics.${encoding()}.unprocessed.wasm`;

/** The panicking calls, with how much each raises `drops_get()`. */
const PANICS = [
  ['panic_fmt(13)', (e) => e.panic_fmt(13), 0],
  ['panic_static()', (e) => e.panic_static(), 0],
  ['panic_recurse_drop(50)', (e) => e.panic_recurse_drop(50), 50],
  ['panic_in_iter(7)', (e) => e.panic_in_iter(7), 0],
];

/** Fails unless `err` is a Rust panic thrown with the exported unwind tag. */
function assertRustPanic(e, err, what) {
  assert.ok(err instanceof WebAssembly.Exception, `${what} threw ${err} (${err?.constructor?.name}), not a WebAssembly.Exception`);
  assert.ok(err.is(e.__wasm_unwind_tag), `${what}: the exception does not carry __wasm_unwind_tag`);
  const header = err.getArg(e.__wasm_unwind_tag, 0);
  assert.equal(classAt(e.memory, header), RUST_EXCEPTION_CLASS, `${what}: no Rust _Unwind_Exception at ${header}`);
}

test('a panic leaves as a WebAssembly.Exception with the unwind tag, stack pointer restored, memory state kept', () => {
  const { exports: e } = instantiate(PROCESSED);
  assert.equal(e.__wasm_unwind_state(), 0);
  const sp0 = e.stack_pointer();
  // The same exports return normally when they do not panic.
  assert.equal(e.panic_fmt(12), 24);
  assert.equal(e.panic_in_iter(-1), 4950);
  assert.equal(e.stack_pointer(), sp0);
  let counter = e.counter_inc();
  assert.equal(counter, 1);

  for (const [what, call, drops] of PANICS) {
    const dropsBefore = e.drops_get();
    const err = thrown(() => call(e), what);
    assertRustPanic(e, err, what);
    assert.equal(e.stack_pointer(), sp0, `${what}: stack pointer not restored`);
    assert.equal(e.drops_get(), dropsBefore + drops, `${what}: drops_get`);
    assert.equal(e.counter_inc(), ++counter, `${what}: the counter in linear memory was lost`);
    assert.equal(e.__wasm_unwind_state(), 0, `${what}: a panic terminated the instance`);
  }
  assert.equal(e.drops_get(), 50);
  assert.equal(e.add(2, 3), 5);
});

test(`${many(1_000_000).toLocaleString('en')} panics in one instance: the stack pointer is back after every one`, (t) => {
  const { exports: e } = instantiate(PROCESSED);
  const sp0 = e.stack_pointer();
  const tag = e.__wasm_unwind_tag;
  const bytesBefore = e.memory.buffer.byteLength;
  const N = many(1_000_000);
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    let err;
    try {
      e.panic_fmt(13);
    } catch (caught) {
      err = caught;
    }
    if (!(err instanceof WebAssembly.Exception) || !err.is(tag)) {
      assert.fail(`panic ${i}: expected a Rust panic, got ${err}`);
    }
    const sp = e.stack_pointer();
    if (sp !== sp0) {
      assert.fail(`panic ${i}: stack pointer ${sp}, expected ${sp0}`);
    }
  }
  const ms = performance.now() - started;
  const bytesAfter = e.memory.buffer.byteLength;

  // Normal calls afterwards.
  assert.equal(e.__wasm_unwind_state(), 0);
  assert.equal(e.add(40, 2), 42);
  assert.equal(e.panic_fmt(21), 42);
  assert.equal(e.counter_inc(), 1);
  assert.equal(e.counter_inc(), 2);
  assert.equal(e.stack_pointer(), sp0);

  // Reported, not asserted: the exception box and payload of every escaped panic leak in the
  // heap, since Rust's own cleanup (__rust_panic_cleanup) never runs for an unwind that leaves
  // the module.
  const grown = bytesAfter - bytesBefore;
  t.diagnostic(`${N} panics in ${(ms / 1000).toFixed(2)} s (${((ms * 1000) / N).toFixed(2)} us a panic)`);
  t.diagnostic(
    `linear memory ${bytesBefore} -> ${bytesAfter} bytes (+${grown}, ${(grown / N).toFixed(1)} bytes a panic; leaked in the heap: exception box and payload; the shadow stack is restored)`,
  );
});

test('unprocessed: the stack pointer drifts down with every panic and the instance dies before 100,000', (t) => {
  // Every panic kind used above leaks shadow stack without the wrappers: the restored-stack-
  // pointer assertions above can fail.
  for (const [what, call] of PANICS) {
    const { exports: u } = instantiate(UNPROCESSED);
    assert.equal(u.__wasm_unwind_tag, undefined);
    const sp0 = u.stack_pointer();
    const err = thrown(() => call(u), what);
    assert.ok(err instanceof WebAssembly.Exception, `${what}: ${err}`);
    assert.ok(u.stack_pointer() < sp0, `${what}: unprocessed stack pointer did not drift (${u.stack_pointer()} vs ${sp0})`);
  }

  const { exports: u } = instantiate(UNPROCESSED);
  const sp0 = u.stack_pointer();
  let last = sp0;
  let death;
  let died = -1;
  for (let i = 0; i < 100_000; i++) {
    let err;
    try {
      u.panic_fmt(13);
    } catch (caught) {
      err = caught;
    }
    if (!(err instanceof WebAssembly.Exception)) {
      death = err;
      died = i;
      break;
    }
    const sp = u.stack_pointer();
    if (!(sp < last)) {
      assert.fail(`panic ${i}: stack pointer ${sp} did not drift below ${last}`);
    }
    last = sp;
  }
  assert.ok(died >= 0, 'the unprocessed module survived 100,000 panics');
  assert.ok(
    death instanceof WebAssembly.RuntimeError,
    `panic ${died} threw ${death} (${death?.constructor?.name}), expected a RuntimeError`,
  );
  t.diagnostic(
    `unprocessed: died at panic ${died} with "${death.message}"; stack pointer ${sp0} -> ${last} before that (${(sp0 - last) / died} bytes a panic)`,
  );
});

test('a JS exception thrown by the host passes through call_host as the very same object', () => {
  const { exports: e, host } = instantiate(PROCESSED);
  const sp0 = e.stack_pointer();
  assert.equal(e.call_host(41), 42);

  const thrownValues = [new Error('boom from the host'), { not: 'an Error' }, new RangeError('a range error from JS')];
  for (const value of thrownValues) {
    host.callback = () => {
      throw value;
    };
    const err = thrown(() => e.call_host(7), 'call_host(7)');
    assert.ok(err === value, `call_host rethrew ${err}, not the host's own object ${value}`);
    assert.ok(!(err instanceof WebAssembly.Exception));
    assert.equal(e.__wasm_unwind_state(), 0, 'a host exception terminated the instance');
    assert.equal(e.stack_pointer(), sp0);
  }
  assert.equal(host.calls.host_callback, 1 + thrownValues.length);

  host.callback = (x) => x * 2;
  assert.equal(e.call_host(5), 11);
  assert.equal(e.counter_get(), 2 + thrownValues.length);
  assert.equal(e.__wasm_unwind_state(), 0);
});
