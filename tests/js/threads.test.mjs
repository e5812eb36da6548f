// Threads: several instances of one module over one shared memory, each in its own worker
// thread (tests/js/threads.worker.mjs), as wasm threads run in JS hosts. Modules, written by
// tests/threads.rs into WASM_UNWIND_JS_DIR, for each encoding E (exnref, legacy):
//   threads.E.wasm             fixtures/wasm/threads.E.wasm processed (it links the runtime
//                              crate, so its guard reads the shared termination word)
//   threads.E.unprocessed.wasm the fixture as built

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { module } from './harness.mjs';

const STACK = 1 << 16;
const THREADS = 3;

/** A program: the first instance on this thread, `THREADS` workers, one shared memory. */
async function program(name) {
  const wasm = module(name);
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 1024, shared: true });
  const gate = new SharedArrayBuffer(12);
  const first = new WebAssembly.Instance(wasm, { env: { memory }, host: { block() {} } });
  const ex = first.exports;
  const workers = [];
  for (let i = 0; i < THREADS; i++) {
    const tls = ex.alloc(ex.__tls_size.value, ex.__tls_align.value);
    const stackTop = ex.alloc(STACK, 16) + STACK;
    const worker = new Worker(new URL('./threads.worker.mjs', import.meta.url), {
      workerData: { module: wasm, memory, tls, stackTop, gate },
    });
    await next(worker);
    workers.push(worker);
  }
  return { first: ex, workers, gate: new Int32Array(gate), end: () => Promise.all(workers.map((w) => w.terminate())) };
}

/** The worker's next message (its error fails the test). */
const next = (worker) => new Promise((resolve, reject) => {
  worker.once('error', reject);
  worker.once('message', (message) => {
    worker.off('error', reject);
    resolve(message);
  });
});

/** Posts a call to `worker`; resolves with how it ended. */
function call(worker, name, args = []) {
  const answer = next(worker);
  worker.postMessage({ name, args });
  return answer;
}

/** How a call on this thread ended, as the worker reports it. */
function here(f) {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e.constructor.name, message: String(e.message) };
  }
}

/** Resolves once a worker is blocked in `host.block`. */
async function blocked(gate) {
  while (Atomics.load(gate, 1) === 0) await new Promise((r) => setTimeout(r, 5));
}

function release(gate, callBack) {
  Atomics.store(gate, 2, callBack ? 1 : 0);
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

// An abort (`unreachable` in Rust's code) and a refusal (the guard's) look the same to a host.
const refused = { error: 'RuntimeError', message: 'unreachable' };
const aborted = refused;

/** The parallel sum and the shared counter, computed by every thread at once. */
async function compute(name) {
  const p = await program(name);
  try {
    const n = 39999;
    const chunk = n / THREADS;
    // Every thread at once; each runs its calls one after another (one answer a call).
    const work = async (w, i) => {
      const sum = await call(w, 'sum_chunk', [i * chunk, (i + 1) * chunk]);
      for (let k = 0; k < 50; k++) assert.equal(typeof (await call(w, 'bump')).value, 'number');
      return sum.value;
    };
    const sums = await Promise.all(p.workers.map(work));
    return { total: p.first.total(), count: p.first.count(), sums };
  } finally {
    await p.end();
  }
}

for (const e of ['exnref', 'legacy']) {
  test(`${e}: without an abort, the threaded program computes what it computes unprocessed`, async () => {
    const processed = await compute(`threads.${e}.wasm`);
    const unprocessed = await compute(`threads.${e}.unprocessed.wasm`);
    let expected = 0n;
    for (let i = 0n; i < 39999n; i++) expected += (i * 2654435761n) % 1000003n;
    assert.equal(processed.total, expected);
    assert.equal(processed.count, 150);
    assert.deepEqual(processed, unprocessed);
  });

  test(`${e}: one thread aborts while others run: every instance is refused after, each says 1`, async () => {
    const p = await program(`threads.${e}.wasm`);
    try {
      const [a, b, c] = p.workers;
      // Two threads bump in a loop until refused; the third aborts once both have started.
      const loops = [a, b].map((w) => {
        const started = next(w);
        w.postMessage({ name: 'bump', repeat: true });
        return started.then(() => next(w));
      });
      await Promise.all([a, b].map(() => new Promise((r) => setTimeout(r, 20))));
      const abort = await call(c, 'abort_now');
      assert.deepEqual({ error: abort.error, message: abort.message }, aborted);
      for (const loop of await Promise.all(loops)) {
        assert.ok(loop.returned > 0, 'the loop ran before the abort');
        assert.deepEqual({ error: loop.error, message: loop.message }, refused);
        assert.equal(loop.state, 1);
      }
      assert.deepEqual(here(() => p.first.count()), refused);
      assert.equal(p.first.__wasm_unwind_state(), 1);
      for (const w of p.workers) {
        const answer = await call(w, 'bump');
        assert.deepEqual({ error: answer.error, message: answer.message }, refused);
        assert.equal(answer.state, 1);
      }
    } finally {
      await p.end();
    }
  });

  test(`${e}: one thread aborts while another is blocked in an import: its return, and its call back in, are refused`, async () => {
    const p = await program(`threads.${e}.wasm`);
    try {
      const [a, b] = p.workers;
      const waiting = call(a, 'wait_in_host');
      await blocked(p.gate);
      const abort = await call(b, 'abort_now');
      assert.deepEqual({ error: abort.error, message: abort.message }, aborted);
      release(p.gate, true);
      const answer = await waiting;
      assert.deepEqual(answer.callback, refused, 'the call back in from the import is refused');
      assert.deepEqual({ error: answer.error, message: answer.message }, refused, 'the import\'s return is refused');
      assert.equal(answer.state, 1);
      assert.equal(p.first.__wasm_unwind_state(), 1);
    } finally {
      await p.end();
    }
  });

  test(`${e}: unprocessed, the other threads keep serving after one aborts (what the guard prevents)`, async () => {
    const p = await program(`threads.${e}.unprocessed.wasm`);
    try {
      const [a, b] = p.workers;
      const abort = await call(b, 'abort_now');
      assert.equal(abort.error, 'RuntimeError');
      assert.deepEqual(await call(a, 'bump').then((x) => x.value), 1);
      assert.equal(p.first.bump(), 2);
    } finally {
      await p.end();
    }
  });
}
