// wasm-bindgen's own glue over a module wasm-unwind processed (before or after the wasm-bindgen
// CLI): what a wasm-bindgen user sees must not change. Run by tests/bindgen.rs:
//   node tests/js/bindgen.test.mjs DIR [NAME [TARGET]]
// (DIR holds wasm-bindgen's NAME.js + NAME_bg.wasm, NAME `bindgen` by default; TARGET `nodejs`,
// the default, or `web`, in Deno by tests/readme.rs), and, over the `--target web` glue, by
// tests/browsers.rs (through `check`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { thrown } from './harness.mjs';

/** The checks, on the exports of wasm-bindgen's glue for the fixture (any target). */
export function check(app) {
  assert.equal(app.add(2, 3), 5);
  assert.equal(app.greet('wasm'), 'Hello, wasm!');
  assert.equal(app.counter_inc(), 1);
  assert.equal(app.counter_inc(), 2);

  // wasm-bindgen catches the panic itself (catch_unwind in its export shims) and throws its
  // PanicError; our wrapper must not get in the way.
  const panic = thrown(() => app.panic_with('boom 7'));
  assert.ok(panic instanceof Error);
  assert.equal(panic.name, 'PanicError');
  assert.equal(panic.message, 'boom 7');
  for (let i = 0; i < 1000; i++) assert.equal(thrown(() => app.panic_with(`boom ${i}`)).message, `boom ${i}`);
  assert.equal(app.add(40, 2), 42);
  assert.equal(app.counter_get(), 2, 'state survived the panics');
  assert.equal(app.greet('again'), 'Hello, again!');

  // An abort is a trap; wasm-bindgen's glue then refuses every call.
  const abort = thrown(() => app.abort_now());
  assert.ok(abort instanceof WebAssembly.RuntimeError, String(abort));
  const refused = thrown(() => app.counter_get());
  assert.match(String(refused), /terminated/i);
}

/** The glue's exports: `--target nodejs` writes CommonJS, `--target web` an ES module to init. */
async function load(dir, name, target) {
  const glue = resolve(dir, `${name}.js`);
  if (target === 'nodejs') return createRequire(import.meta.url)(glue);
  assert.equal(target, 'web', 'TARGET');
  const app = await import(pathToFileURL(glue).href);
  await app.default({ module_or_path: readFileSync(resolve(dir, `${name}_bg.wasm`)) });
  return app;
}

if (process.argv[2]) {
  const [dir, name = 'bindgen', target = 'nodejs'] = process.argv.slice(2);
  check(await load(dir, name, target));
  console.log(`ok: wasm-bindgen ${target} glue over`, dir);
}
