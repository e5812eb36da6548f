// JS glue for a module processed with `wasm-unwind --js` (written by `wasm-unwind --emit-js`).
// No dependencies; runs in browsers, Node, Deno and Cloudflare Workers.
//
//   import { instantiate, PanicError, TerminatedError } from './wasm-unwind.mjs';
//   const app = await instantiate(wasmModuleOrBytes, { env: { ... } }, { fresh: true });
//   try { app.exports.handle(1) } catch (e) { if (e instanceof PanicError) console.log(e.message) }
//
// The module imports `wasm_unwind.panic` and `wasm_unwind.terminated`; `instantiate` provides
// them next to your own imports. To instantiate by other means (wasm-bindgen's glue, say), add
// `hostImports(() => instance)` to the imports object under the name `wasm_unwind`.

/** A Rust panic that reached an export. `message` is the panic message when it is known. */
export class PanicError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PanicError';
  }
}

/** A call into an instance that has aborted (trapped); that instance never runs again. */
export class TerminatedError extends Error {
  constructor(message = 'the WebAssembly instance has aborted and refuses every call', options) {
    super(message, options);
    this.name = 'TerminatedError';
  }
}

/** What `PanicError.message` says when the module does not link wasm-unwind-runtime. */
export const UNKNOWN_MESSAGE = 'Rust panic (link wasm-unwind-runtime for its message)';

const utf8 = new TextDecoder();

/**
 * The `wasm_unwind` imports. `instance()` returns the instance they belong to: the panic
 * message is read from its exported `memory`.
 */
export function hostImports(instance) {
  return {
    panic(ptr, len) {
      if (ptr === 0) throw new PanicError(UNKNOWN_MESSAGE);
      const memory = instance().exports.memory;
      throw new PanicError(utf8.decode(new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0)));
    },
    terminated() {
      throw new TerminatedError();
    },
  };
}

/**
 * Whether `instance` has aborted with `error`. With the abort guard it says so itself, for a trap
 * in its own code. Any other error the engine raised while the instance ran is an abort too: a
 * trap without the guard, or a trap in a function of another instance that this one called (an
 * import that is another module's export, a slot another module filled), which this instance's
 * guard cannot see. Such an error is a trap (RuntimeError) or stack exhaustion, whose type
 * depends on the engine (RangeError in V8 and JavaScriptCore, InternalError in SpiderMonkey), so
 * it is told apart by where it came from instead: not thrown by the host's JS (`fromHost`), not
 * a panic, and not a TypeError (a value that did not convert at the boundary; the call did not
 * run).
 */
function aborted(instance, error, fromHost) {
  const state = instance.exports.__wasm_unwind_state;
  if (typeof state === 'function' && state() === 1) return true;
  return error instanceof Error && !(error instanceof TypeError) && !fromHost.has(error);
}

/**
 * Why `instance` aborted, when it was a panic that could not unwind (an `extern "C"` export) and
 * the module links wasm-unwind-runtime, whose panic hook kept the message: `__wasm_unwind_message()`
 * points at `{ ptr, len, aborted }` (u32 each), `aborted` 1 for such a panic. Otherwise undefined.
 */
function abortMessage(instance) {
  const { __wasm_unwind_message: message, memory } = instance.exports;
  if (typeof message !== 'function' || !(memory instanceof WebAssembly.Memory)) return undefined;
  try {
    const [ptr, len, aborted] = new Uint32Array(memory.buffer, message() >>> 0, 3);
    return aborted === 1 ? utf8.decode(new Uint8Array(memory.buffer, ptr, len)) : undefined;
  } catch {
    return undefined; // an older runtime, or memory the abort left unreadable: the bare error
  }
}

/**
 * Whether `f` is an exported function of a WebAssembly instance: native code named by its
 * function index (in V8, SpiderMonkey and JavaScriptCore alike). A bound or built-in function
 * has a name of words.
 */
function wasmExport(f) {
  const source = Function.prototype.toString.call(f);
  return /^\d+$/.test(f.name) && /\{\s*\[native code\]\s*\}\s*$/.test(source);
}

/**
 * `imports` with every JS function wrapped to remember, in the returned `fromHost`, the objects
 * it throws (see `aborted`). Another instance's exports are left as they are: what they raise is
 * the engine's, and a call between instances stays direct.
 */
function watchHost(imports) {
  const fromHost = new WeakSet();
  const watch = (f) =>
    function (...args) {
      try {
        return f.apply(this, args);
      } catch (error) {
        if (typeof error === 'object' && error !== null) fromHost.add(error);
        throw error;
      }
    };
  const watched = {};
  for (const [name, fields] of Object.entries(imports)) {
    watched[name] = {};
    for (const [field, value] of Object.entries(fields)) {
      const js = typeof value === 'function' && !wasmExport(value);
      watched[name][field] = js ? watch(value) : value;
    }
  }
  return { imports: watched, fromHost };
}

async function compile(source) {
  if (source instanceof WebAssembly.Module) return source;
  source = await source;
  if (typeof Response === 'function' && source instanceof Response) {
    return WebAssembly.compileStreaming(source);
  }
  return WebAssembly.compile(source);
}

/**
 * Compiles (when needed) and instantiates `source` (a WebAssembly.Module, bytes, or a fetch
 * Response) with `imports` plus the `wasm_unwind` imports.
 *
 * Returns `{ exports, module, instance, terminated, generation }`. `exports` forward every
 * call to the current instance. After an abort, calls throw TerminatedError; with
 * `options.fresh`, the aborted instance is replaced by a new one instead (its memory and state
 * start over) and later calls go there. `options.onAbort(error)` is told of every abort.
 */
export async function instantiate(source, imports = {}, options = {}) {
  const module = await compile(source);
  let current;
  let terminated = false;
  let generation = 0;
  const host = watchHost(imports);
  const allImports = { ...host.imports, wasm_unwind: hostImports(() => current) };
  const started = (instance) => {
    current = instance;
    terminated = false;
    generation += 1;
  };
  started(await WebAssembly.instantiate(module, allImports));

  const forward = (name) =>
    function (...args) {
      if (terminated) {
        if (!options.fresh) throw new TerminatedError();
        started(new WebAssembly.Instance(module, allImports));
      }
      const instance = current;
      try {
        return instance.exports[name].apply(this, args);
      } catch (error) {
        if (instance === current && !(error instanceof PanicError) && aborted(instance, error, host.fromHost)) {
          terminated = true;
          const why = abortMessage(instance);
          if (why !== undefined && error instanceof Error) error.message = `aborted: ${why}`;
          options.onAbort?.(error);
        }
        throw error;
      }
    };

  const exports = {};
  for (const { name, kind } of WebAssembly.Module.exports(module)) {
    if (kind === 'function') {
      exports[name] = forward(name);
    } else {
      Object.defineProperty(exports, name, { enumerable: true, get: () => current.exports[name] });
    }
  }
  return {
    exports: Object.freeze(exports),
    module,
    get instance() {
      return current;
    },
    get terminated() {
      return terminated;
    },
    get generation() {
      return generation;
    },
  };
}
