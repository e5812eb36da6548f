// What every corpus driver shares (tests/corpus.rs runs them; see tests/corpus/README.md).
//
// A driver describes its package's workload as steps; `run` opens the package twice in this one
// process, from the unprocessed tree and from the processed one, and runs each step on one side
// then the other (interleaved), so both copies live side by side as they would in one app.
// Each side keeps a transcript: the step's label and its result (or the error it threw), plus
// everything the package printed on the console meanwhile, so an extra line the processed
// module makes the package print shows up as a difference.
//
// Output, on stdout, after anything the package printed outside a step:
//   a line `@@corpus {...}` with one JSON object: the two transcripts and, per side, the modules
//   instantiated on this thread and how many of them export `__wasm_unwind_state` (the proof that
//   the processed side really ran processed modules).
//
// Usage: node DRIVER.mjs PLAIN_NODE_MODULES PROCESSED_NODE_MODULES [--rounds N]
// With --rounds N (benches/corpus.rs), after the transcript's pass the steps run N more times
// per side, the sides alternating which goes first, and the JSON gives each side's time per
// workload in ms, wall (`times`) and CPU (`cpu`); a round repeats the workload `repeat` times,
// about 50 ms.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';

const STATE_EXPORT = '__wasm_unwind_state';
const ROUND_MS = 50;
const sides = ['plain', 'processed'];
let current = null; // the side whose step runs now
const seen = { plain: { modules: 0, processed: 0 }, processed: { modules: 0, processed: 0 } };
const printed = { plain: [], processed: [] };

// Count every module instantiated on this thread, per side, and whether the tool processed it.
function note(module) {
  if (!current) return;
  seen[current].modules += 1;
  if (WebAssembly.Module.exports(module).some((e) => e.name === STATE_EXPORT)) {
    seen[current].processed += 1;
  }
}
const { instantiate, Instance } = WebAssembly;
WebAssembly.instantiate = async function (source, imports) {
  const result = await instantiate.call(this, source, imports);
  note(result instanceof Instance ? source : result.module);
  return result;
};
WebAssembly.Instance = new Proxy(Instance, {
  construct(target, args) {
    note(args[0]);
    return Reflect.construct(target, args);
  },
});
if (WebAssembly.instantiateStreaming) {
  const streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async function (source, imports) {
    const result = await streaming.call(this, source, imports);
    note(result.module);
    return result;
  };
}

// The console of the package, into the transcript of the side that runs.
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    if (!current) return original(...args);
    printed[current].push(`console.${level}: ${args.map(String).join(' ')}`);
  };
}

/** The text an error leaves in a transcript: its class and message, first line only. */
export function describe(error) {
  const name = error?.constructor?.name ?? typeof error;
  const message = String(error?.message ?? error).split('\n')[0];
  return `${name}: ${message}`;
}

/** A short stable digest of bytes or text, for results too long to print. */
export function digest(data) {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/**
 * One node_modules folder: `require(id)` from it, `import(file)` and `path(file)` of a file in
 * it (by its path under node_modules: the ES module glue is named, not resolved, so it is the
 * file the package's `import` condition would pick).
 */
export function loader(root) {
  return {
    require: createRequire(`${root}/`),
    import: (file) => import(pathToFileURL(`${root}/${file}`).href),
    path: (file) => `${root}/${file}`,
  };
}

/** A step of a side whose package did not open. */
async function notOpened() {
  throw new Error('the package did not open');
}

async function step(side, label, fn, transcript) {
  current = side;
  let line;
  try {
    const value = await fn();
    line = value === undefined ? `${label}: ok` : `${label}: ${value}`;
  } catch (error) {
    line = `${label}: threw ${describe(error)}`;
  } finally {
    current = null;
  }
  transcript.push(...printed[side].splice(0), line);
}

/**
 * Runs the workload on both trees. `open(pkg)` gets a `loader` for one tree and returns
 * `{ steps: [[label, async () => result]], after?: [...], close?: async () => {} }`: `steps`
 * are the workload (timed with --rounds), `after` steps run once after it (a step that ends
 * the instance), `close` last. Opening is a step too.
 */
export async function run(open) {
  const [plainRoot, processedRoot] = process.argv.slice(2, 4);
  const roundsAt = process.argv.indexOf('--rounds');
  const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 0;
  if (!plainRoot || !processedRoot) {
    console.error('usage: node DRIVER.mjs PLAIN_NODE_MODULES PROCESSED_NODE_MODULES [--rounds N]');
    process.exit(2);
  }
  const roots = { plain: plainRoot, processed: processedRoot };
  const transcripts = { plain: [], processed: [] };
  const sessions = {};
  for (const side of sides) {
    await step(side, 'open', async () => { sessions[side] = await open(loader(roots[side])); }, transcripts[side]);
  }
  const steps = (side) => sessions[side]?.steps ?? [];
  const count = Math.max(...sides.map((s) => steps(s).length));
  for (let i = 0; i < count; i++) {
    for (const side of sides) {
      const [label, fn] = steps(side)[i] ?? [steps('plain')[i]?.[0] ?? `step ${i}`, notOpened];
      await step(side, label, fn, transcripts[side]);
    }
  }
  const times = { plain: [], processed: [] };
  const cpu = { plain: [], processed: [] };
  // One round: wall time and the process's CPU time (all its threads: on a loaded machine the
  // wall time mostly measures the wait for a core), per workload, in ms.
  const workload = async (side, repeat) => {
    const [started, cpuStarted] = [performance.now(), process.cpuUsage()];
    for (let r = 0; r < repeat; r++) {
      for (const [label, fn] of steps(side)) await step(side, label, fn, []);
    }
    const used = process.cpuUsage(cpuStarted);
    return [(performance.now() - started) / repeat, (used.user + used.system) / 1000 / repeat];
  };
  // A round repeats the workload until it takes about ROUND_MS on the unprocessed side, so that
  // small workloads are not measured at the timer's resolution.
  const once = rounds > 0 ? (await workload('plain', 1))[0] : 0;
  const repeat = Math.min(1000, Math.ceil(ROUND_MS / Math.max(0.01, once)));
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 ? [...sides].reverse() : sides) {
      const [wall, used] = await workload(side, repeat);
      times[side].push(wall);
      cpu[side].push(used);
    }
  }
  // Steps that end the instance (a trap) run once, after the timed rounds.
  for (const [i] of (sessions.plain?.after ?? []).entries()) {
    for (const side of sides) {
      const [label, fn] = sessions[side]?.after?.[i] ?? [sessions.plain.after[i][0], notOpened];
      await step(side, label, fn, transcripts[side]);
    }
  }
  for (const side of sides) {
    await step(side, 'close', async () => sessions[side]?.close?.(), transcripts[side]);
  }
  const report = {
    transcripts: { plain: transcripts.plain.join('\n'), processed: transcripts.processed.join('\n') },
    seen,
    times,
    cpu,
    repeat,
  };
  process.stdout.write(`@@corpus ${JSON.stringify(report)}\n`);
}
