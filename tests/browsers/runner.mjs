// The browser side of tests/browsers.rs. Loaded by index.html, it runs the shared JS suite
// (tests/js/) on the page, then loads itself into a dedicated Worker, which runs it again there.
// Each place posts its log lines to /log/PLACE and, at the end, one line a test to /result/PLACE:
//   ok|FAIL <TAB> mode <TAB> encoding <TAB> test name        (mode: js, default, bindgen)
// then `end`. `?many=N` sets how often the long loops go round (WASM_UNWIND_MANY).

import { files, process, runTests } from './node.mjs';

const place = typeof window === 'undefined' ? 'worker' : 'page';
const query = new URL(import.meta.url).search;
const many = new URLSearchParams(query).get('many');
const ENCODINGS = ['exnref', 'legacy'];

let posting = Promise.resolve();
/** POSTs in order (the log reads as it was written). */
function post(path, body) {
  posting = posting.then(() => fetch(path, { method: 'POST', body }).then(() => {}, () => {}));
  return posting;
}

let lines = [];
console.log = (...args) => {
  const line = args.join(' ');
  lines.push(line);
  post(`/log/${place}`, line);
};

const rows = [];

/** Every module the test wrote under /modules/DIR, into the `node:fs` stand-in. */
async function fetchModules(dir) {
  const names = (await (await fetch(`/list/${dir}`)).text()).split('\n').filter(Boolean);
  for (const name of names) {
    const response = await fetch(`/modules/${dir}/${name}`);
    if (!response.ok) throw new Error(`/modules/${dir}/${name}: ${response.status}`);
    files.set(`/modules/${dir}/${name}`, new Uint8Array(await response.arrayBuffer()));
  }
}

/**
 * Imports a suite file with `env` (a fresh copy per call, through the query) and runs what it
 * registered; one row for each `ok`/`FAIL` line it logged. `encodingOf(name)` says which
 * encoding a test ran.
 */
async function suite(mode, file, env, encodingOf) {
  Object.assign(process.env, env);
  process.exitCode = undefined;
  lines = [];
  try {
    await import(`${file}?${mode}-${env.WASM_UNWIND_ENCODING ?? 'all'}`);
    await runTests();
  } catch (error) {
    console.log(`FAIL ${file} (${mode}) did not run\n${error?.stack ?? error}`);
  }
  let failed = false;
  for (const line of lines) {
    const match = /^(ok  |FAIL) ([^\n]*)/.exec(line);
    if (!match) continue;
    failed ||= match[1] === 'FAIL';
    rows.push([match[1].trim(), mode, encodingOf(match[2]), match[2]].join('\t'));
  }
  if (process.exitCode && !failed) rows.push(['FAIL', mode, 'all', `${file} exited with ${process.exitCode}`].join('\t'));
}

/** wasm-bindgen's `--target web` glue over the processed fixture, for each pipeline written. */
async function bindgen() {
  const { check } = await import('/tests/js/bindgen.test.mjs');
  const dirs = (await (await fetch('/list/bindgen')).text()).split('\n').filter(Boolean);
  for (const dir of dirs) {
    const [encoding] = dir.split('-');
    const name = `wasm-bindgen --target web, ${dir}`;
    try {
      const glue = await import(`/modules/bindgen/${dir}/bindgen.js`);
      await glue.default();
      check(glue);
      rows.push(['ok', 'bindgen', encoding, name].join('\t'));
      console.log(`ok   ${name}`);
    } catch (error) {
      rows.push(['FAIL', 'bindgen', encoding, name].join('\t'));
      console.log(`FAIL ${name}\n${error?.stack ?? error}`);
    }
  }
}

async function main() {
  if (many) process.env.WASM_UNWIND_MANY = many;
  console.log(`${place}: ${navigator.userAgent}`);
  await fetchModules('js');
  await fetchModules('default');
  // JS mode: the loader and the glue, both encodings in one run.
  await suite('js', '/tests/js/hosts.test.mjs', { WASM_UNWIND_JS_DIR: '/modules/js' }, (name) => name.split(':')[0]);
  // The default mode, once per encoding.
  for (const encoding of ENCODINGS) {
    const env = { WASM_UNWIND_JS_DIR: '/modules/default', WASM_UNWIND_ENCODING: encoding };
    await suite('default', '/tests/js/contain.test.mjs', env, () => encoding);
    await suite('default', '/tests/js/abort_guard.test.mjs', env, () => encoding);
  }
  await bindgen();
}

/** On the page: the Worker's run, after the page's own. */
function inWorker() {
  const worker = new Worker(new URL(`./runner.mjs${query}`, import.meta.url), { type: 'module' });
  worker.onerror = (event) => post('/result/worker', `FAIL\trunner\tall\tthe Worker failed: ${event.message}\nend`);
}

const started = performance.now();
try {
  await main();
} catch (error) {
  rows.push(['FAIL', 'runner', 'all', `the runner failed: ${error?.stack ?? error}`].join('\t'));
}
console.log(`${place}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
await post(`/result/${place}`, [...rows, 'end'].join('\n'));
if (place === 'page') inWorker();
