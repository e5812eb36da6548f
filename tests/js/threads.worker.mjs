// One thread of tests/js/threads.test.mjs: its own instance of the module over the shared memory,
// with its own shadow stack and TLS block (made by the first instance). It runs what the main
// thread posts and answers how each call ended.
//
// The import `host.block` waits on `gate[0]` (Atomics.wait) after setting `gate[1]` to say it is
// blocked; before returning, when `gate[2]` is set, it first calls back into its own instance
// (`bump`) and reports how that call ended.

import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, tls, stackTop, gate: gateBuffer } = workerData;
const gate = new Int32Array(gateBuffer);
let instance;
let callback = null;

function block() {
  Atomics.store(gate, 1, 1);
  Atomics.notify(gate, 1);
  Atomics.wait(gate, 0, 0);
  if (Atomics.load(gate, 2)) callback = outcome(() => instance.exports.bump());
}

instance = new WebAssembly.Instance(module, { env: { memory }, host: { block } });
instance.exports.__stack_pointer.value = stackTop;
instance.exports.__wasm_init_tls(tls);

/** How a call ended: `{ value }` or `{ error, message }`. */
function outcome(call) {
  try {
    const value = call();
    return { value: typeof value === 'bigint' ? value.toString() : value };
  } catch (e) {
    return { error: e.constructor.name, message: String(e.message) };
  }
}

parentPort.on('message', ({ name, args = [], repeat }) => {
  const call = () => instance.exports[name](...args);
  let answer;
  if (repeat) {
    // Call until refused (for 10 s at most): how many calls returned, and how the last ended.
    let returned = 0;
    const deadline = Date.now() + 10_000;
    for (;;) {
      answer = outcome(call);
      if (answer.error || Date.now() > deadline) break;
      returned += 1;
      if (returned === 1) parentPort.postMessage({ started: true });
    }
    answer.returned = returned;
  } else {
    answer = outcome(call);
  }
  answer.callback = callback;
  answer.state = outcome(() => instance.exports.__wasm_unwind_state?.()).value;
  parentPort.postMessage(answer);
});
parentPort.postMessage({ ready: true });
