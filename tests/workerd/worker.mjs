// The Worker that tests/workerd.rs serves: a processed `panics-rt` module behind a few routes,
// one export call each, so the test can watch one instance (and its replacement) across requests.
//
// `app.wasm` arrives as a WebAssembly.Module: workerd compiles it when the config loads and
// refuses to compile Wasm at run time, so the glue is handed the module, never bytes.
import wasm from './app.wasm';
import { instantiate, PanicError } from './wasm-unwind.mjs';
import { imports } from './imports.mjs';

// Instantiated on the first request (module level is outside any request) and kept for the
// life of the isolate, so state carries from one request to the next. `starting` is shared so
// that concurrent first requests get one instance.
let app;
let starting;

const routes = {
  '/count': (app) => app.exports.counter_inc(),
  '/get': (app) => app.exports.counter_get(),
  '/panicking': (app) => app.exports.is_panicking(),
  // How many instances the glue has started: 2 once an abort has been replaced.
  '/generation': (app) => app.generation,
  '/panic': (app) => {
    try {
      return app.exports.panic_fmt(13);
    } catch (err) {
      // The panic message, exactly: the test compares it with the fixture's.
      if (err instanceof PanicError) return new Response(err.message, { status: 500 });
      throw err;
    }
  },
  // std::process::abort: a RuntimeError (unreachable) that ends this instance; with
  // `fresh: true` the glue starts a new one on the next call.
  '/abort': (app) => app.exports.abort_now(),
};

export default {
  async fetch(request) {
    const route = routes[new URL(request.url).pathname];
    if (!route) return new Response('no such route', { status: 404 });
    try {
      app ??= await (starting ??= instantiate(wasm, imports, { fresh: true }));
      const result = route(app);
      return result instanceof Response ? result : new Response(String(result));
    } catch (err) {
      // A WebAssembly.Exception (a panic the glue did not turn into a PanicError) is no Error.
      const text = err instanceof Error ? `${err.name}: ${err.message}` : `not an Error: ${err}`;
      return new Response(text, { status: 500 });
    }
  },
};
