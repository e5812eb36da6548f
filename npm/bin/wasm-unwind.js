#!/usr/bin/env node
// The `wasm-unwind` command of the npm package: the Rust tool compiled to wasm32-wasip1, run on
// Node's own WASI (node:wasi, Node 20+), so installing it needs no native binary and no Rust.
//
// WASI sees only the directories it is given ("preopens"). The tool's paths come from its
// arguments, so the launcher gives it the working directory (for relative paths) and, for each
// argument that is a path outside it, that path's folder, under the very name the argument uses:
// the tool sees the paths the user typed and its messages name them as the native tool does.
//
// Standard input and output go straight to the tool's file descriptors 0 and 1, written and read
// synchronously. So nothing here may touch `process.stdout`/`process.stdin` before the tool ends
// (nor `import ... from 'node:process'`, whose namespace reads them): Node would switch a piped
// descriptor to non-blocking mode and the tool's writes would fail with EAGAIN.

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

// node:wasi prints an ExperimentalWarning on load; the native tool prints nothing of the kind.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const text = String(warning?.message ?? warning);
  if (!text.includes('WASI')) emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');
// Node 20 crashed with SIGSEGV processing the large fixture read from a pipe (4 runs of 5), as in
// nodejs/node#53087 (WASI through V8's fast API calls). Without fast calls it ran clean every
// time; Node 24 did with them too.
(await import('node:v8')).setFlagsFromString('--no-turbo-fast-api-calls');

const args = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: ['wasm-unwind', ...args],
  env: process.env,
  preopens: preopens(args),
  returnOnExit: true,
});
const wasm = await WebAssembly.compile(
  await readFile(new URL('../wasm-unwind.wasm', import.meta.url)),
);
const instance = await WebAssembly.instantiate(wasm, wasi.getImportObject());
let code;
try {
  code = wasi.start(instance);
} catch (err) {
  // A trap: the tool aborted (a bug, never bad input). Exit as a Rust panic does.
  process.stderr.write(`wasm-unwind: ${err?.stack ?? err}\n`);
  code = 101;
}
process.exitCode = code;

/** Guest directory name -> host directory, for the working directory and the arguments. */
function preopens(args) {
  const dirs = { '.': process.cwd() };
  for (const arg of args) {
    // `--emit-js=FILE` carries its path after the `=`.
    const value = arg.startsWith('--') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    const folder = outside(value);
    // A folder that does not exist is left out: the tool then fails on the path as natively.
    if (folder !== undefined && isDirectory(folder)) dirs[folder] = path.resolve(folder);
  }
  return dirs;
}

/**
 * The folder WASI must be given for `value` when it reaches outside the working directory:
 * an absolute path's parent, or a relative path's leading `..` steps. Undefined otherwise.
 */
function outside(value) {
  if (path.isAbsolute(value)) return path.dirname(value);
  const parts = value.split('/');
  let up = 0;
  while (parts[up] === '..') up += 1;
  return up > 0 ? parts.slice(0, up).join('/') : undefined;
}

function isDirectory(folder) {
  return statSync(folder, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
