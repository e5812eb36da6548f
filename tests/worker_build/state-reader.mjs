// A host that follows wasm-unwind's README: when a call into the instance throws, it reads
// `__wasm_unwind_state()` to learn whether the instance is still usable. Loaded before
// worker-build's bundle (index.js), it wraps every `WebAssembly.Instance` that exports the state
// function, so that each function export reads the state when it throws, then rethrows.
// `globalThis.stateReads` counts the reads, so the test can tell that the host did read.
globalThis.stateReads = 0;
const Instance = WebAssembly.Instance;

function reading(exports) {
  const state = exports.__wasm_unwind_state;
  const wrapped = {};
  for (const [name, value] of Object.entries(exports)) {
    wrapped[name] =
      typeof value !== 'function' || value === state
        ? value
        : function (...args) {
            try {
              return value.apply(this, args);
            } catch (error) {
              globalThis.stateReads++;
              state();
              throw error;
            }
          };
  }
  return Object.freeze(wrapped);
}

WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  if (typeof instance.exports.__wasm_unwind_state !== 'function') return instance;
  return { exports: reading(instance.exports) };
};
