// Runs a list of calls against one instance of a module and prints, as one JSON line, what each
// call did and the exported globals afterwards. Used by tests/regressions.rs in Node 20 (legacy
// EH) and Node 24 (exnref), so one description of a scenario checks both encodings.
//
//   node calls.mjs MODULE.wasm '[["export", arg, ...], ...]' [THROWN]
//
// Every function import throws THROWN when called: `null`, `undefined`, or (default) an Error.
// A call's result: {"returned": value} | {"threw": what, "message": text, "same": bool}, where
// `what` is "RuntimeError", "Exception" (a WebAssembly.Exception), "Error", "null", "undefined",
// and `same` says whether it is the very value the import threw.
import { readFileSync } from 'node:fs';

const [file, callsJson, thrownName = 'error'] = process.argv.slice(2);
const thrown = { null: null, undefined: undefined, error: new Error('host') }[thrownName];
const module = new WebAssembly.Module(readFileSync(file));
const imports = {};
for (const { module: m, name, kind } of WebAssembly.Module.imports(module)) {
  if (kind !== 'function') throw new Error(`calls.mjs provides functions only, not ${kind} ${m}.${name}`);
  (imports[m] ??= {})[name] = () => { throw thrown; };
}
const instance = new WebAssembly.Instance(module, imports);
const what = (e) => {
  if (e === null) return 'null';
  if (e === undefined) return 'undefined';
  if (e instanceof WebAssembly.Exception) return 'Exception';
  return e?.constructor?.name ?? typeof e;
};
const calls = JSON.parse(callsJson).map(([name, ...args]) => {
  try {
    const value = instance.exports[name](...args);
    return { call: name, returned: value ?? null };
  } catch (e) {
    return { call: name, threw: what(e), message: String(e?.message ?? ''), same: e === thrown };
  }
});
const globals = {};
for (const [name, value] of Object.entries(instance.exports)) {
  if (value instanceof WebAssembly.Global) globals[name] = value.value;
}
console.log(JSON.stringify({ calls, globals }));
