// What processing costs at run time in a JS engine (V8, in Deno or Node): per call of a trivial export and per
// panic caught in JS, processed vs unprocessed. The JS twin of benches/runtime.rs; see BENCHMARKS.md.
//
// Run it through benches/run-js.sh, which writes the processed modules with the CLI first:
//   node benches/runtime.mjs DIR [exnref|legacy]      (default legacy: Node 20 runs no exnref)
//   deno run --allow-read --allow-env --allow-sys benches/runtime.mjs DIR exnref
// DIR holds panics.ENC.wasm (processed, defaults), panics.ENC.noguard.wasm (processed,
// --no-abort-guard), panics.ENC.unprocessed.wasm (the fixture as built), panics-rt.ENC.wasm
// (the fixture linking wasm-unwind-runtime, processed), and the same three of medium.ENC.
//
// Imports: env.host_callback = env.host_callback_nounwind = x => x * 10.
// Rounds are interleaved (every variant each round, the order alternating between rounds);
// figures are medians over BENCH_RUNS rounds (default 9) after one warm-up round.
//   per call:  add(1, 2) and call_host(1), BENCH_CALLS calls a round (default 2,000,000); and
//              json_count(ptr, len) of medium.ENC.wasm on a 67-byte JSON document (about a
//              microsecond of serde_json), BENCH_CALLS / 20 calls a round, unprocessed, processed
//              and without the guard: the realistic call
//   per panic: panic_fmt(13), BENCH_PANICS a round (default 10,000), caught in JS. The unprocessed
//              module gets a fresh instance every 5,000 panics (it dies after about 13,000),
//              instantiation not timed; the processed one runs with one instance throughout, and
//              on the unprocessed one's schedule.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';

const dir = process.argv[2];
// exnref or legacy: which encoding of the fixture (Node 20 runs legacy only).
const encoding = process.argv[3] ?? 'legacy';
if (!dir) {
  console.error('usage: node benches/runtime.mjs DIR   (benches/run-js.sh writes DIR and runs this)');
  process.exit(2);
}

function count(name, dflt) {
  const v = process.env[name];
  if (v === undefined) return dflt;
  const n = Number(v.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: not a positive integer`);
  return n;
}
const RUNS = count('BENCH_RUNS', 9);
const CALLS = count('BENCH_CALLS', 2_000_000);
const PANICS = count('BENCH_PANICS', 10_000);
const UNPROCESSED_PANICS_PER_INSTANCE = 5_000;

const env = { host_callback: (x) => x * 10, host_callback_nounwind: (x) => x * 10 };
const load = (pairs) =>
  pairs.map(([label, file]) => {
    const module = new WebAssembly.Module(readFileSync(join(dir, file)));
    return { label, module, instantiate: () => new WebAssembly.Instance(module, { env }).exports };
  });
const variants = load([
  ['unprocessed', `panics.${encoding}.unprocessed.wasm`],
  ['processed', `panics.${encoding}.wasm`],
  ['processed, no guard', `panics.${encoding}.noguard.wasm`],
  ['processed, runtime linked', `panics-rt.${encoding}.wasm`],
]);
// The realistic call: json_count of medium.ENC.wasm (serde_json) on a 67-byte document, the same
// as benches/runtime.rs.
const medium = load([
  ['unprocessed', `medium.${encoding}.unprocessed.wasm`],
  ['processed', `medium.${encoding}.wasm`],
  ['processed, no guard', `medium.${encoding}.noguard.wasm`],
]);
const JSON_DOCUMENT =
  '{"id":1234,"name":"wasm-unwind","tags":["wasm","unwind"],"ok":true}';
/// Writes the document into the instance's memory: json_count's arguments.
const jsonArgs = (exports) => {
  const bytes = new TextEncoder().encode(JSON_DOCUMENT);
  const ptr = exports.alloc(bytes.length);
  new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const order = (n, round) => {
  const o = [...Array(n).keys()];
  return round % 2 ? o.reverse() : o;
};
const now = () => process.hrtime.bigint();
const secs = (t0) => Number(now() - t0) / 1e9;
const pct = (m, base) => `${m >= base ? '+' : ''}${((100 * (m - base)) / base).toFixed(1)}%`;
const range = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

console.log(
  `benches/runtime.mjs: ${globalThis.Deno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`} (V8 ${process.versions.v8}), ${encoding} EH, medians of ${RUNS} rounds (BENCH_RUNS), after one warm-up round`,
);
console.log(`machine: ${availableParallelism()} cores, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('');

// `args(exports)` gives the arguments for one instance.
function perCall(variants, calls, exportName, args, expected) {
  const live = variants.map((v) => v.instantiate());
  const argsOf = live.map(args);
  // One loop function per variant (new Function: its own feedback), calling with exactly the
  // export's arity.
  const params = argsOf[0].map((_, j) => `a${j}`);
  const loops = variants.map(
    () =>
      new Function('f', 'n', ...params, `let s = 0; for (let k = 0; k < n; k++) s = (s + f(${params})) | 0; return s;`),
  );
  const ns = variants.map(() => []);
  for (let round = 0; round <= RUNS; round++) {
    for (const i of order(variants.length, round)) {
      const f = live[i][exportName];
      const a = argsOf[i];
      if (f(...a) !== expected) throw new Error(`${variants[i].label}: ${exportName}(${a}) !== ${expected}`);
      const t0 = now();
      const sink = loops[i](f, calls, ...a);
      const s = secs(t0);
      if (sink !== Number(BigInt.asIntN(32, BigInt(expected) * BigInt(calls)))) throw new Error(`${variants[i].label}: wrong sum`);
      if (round > 0) ns[i].push((s * 1e9) / calls);
    }
  }
  console.log(`## per call: \`${exportName}(${argsOf[0].join(', ')})\`, ${calls} calls a round (ns a call, median; min-max over rounds)`);
  console.log('');
  console.log('| module | ns/call | min-max | overhead vs unprocessed |');
  console.log('|---|---:|---:|---:|');
  const base = median(ns[0]);
  variants.forEach((v, i) => {
    const m = median(ns[i]);
    const over = i === 0 ? '-' : `${pct(m, base)} (${m - base >= 0 ? '+' : ''}${(m - base).toFixed(2)} ns)`;
    console.log(`| ${v.label} | ${m.toFixed(2)} | ${range(ns[i])} | ${over} |`);
  });
  console.log('');
}

function perPanic() {
  const [unprocessed, processed, , runtime] = variants;
  const lane = (label, variant, fresh) => ({ label, variant, fresh, exports: variant.instantiate(), sinceFresh: 0, total: 0, us: [] });
  const lanes = [
    // It dies after about 13,000 escaped panics: it cannot run any other way.
    lane('unprocessed, fresh instance every 5,000', unprocessed, true),
    // The real use: one instance takes every panic and goes on.
    lane('processed, one instance throughout', processed, false),
    // Same schedule as the unprocessed one, to compare like with like.
    lane('processed, fresh instance every 5,000', processed, true),
    // With the runtime crate each panic is also taken back by Rust's catch_unwind.
    lane('processed, runtime linked, one instance throughout', runtime, false),
  ];
  const kept = lanes[1].exports;
  const sp0 = kept.stack_pointer();
  const withRuntime = lanes[3].exports;
  const memory0 = [kept, withRuntime].map((e) => e.memory.buffer.byteLength);

  // One batch function per lane (new Function: its own feedback).
  const batches = lanes.map(
    () =>
      new Function(
        'f',
        'n',
        'tag',
        `for (let k = 0; k < n; k++) {
           try { f(13); } catch (e) {
             if (!(e instanceof WebAssembly.Exception) || (tag && !e.is(tag))) throw e;
             continue;
           }
           throw new Error('panic_fmt(13) returned');
         }`,
      ),
  );

  for (let round = 0; round <= RUNS; round++) {
    for (const i of order(lanes.length, round)) {
      const l = lanes[i];
      let elapsed = 0;
      let left = PANICS;
      while (left > 0) {
        let n = left;
        if (l.fresh) {
          if (l.sinceFresh >= UNPROCESSED_PANICS_PER_INSTANCE) {
            l.exports = l.variant.instantiate();
            l.sinceFresh = 0;
          }
          n = Math.min(n, UNPROCESSED_PANICS_PER_INSTANCE - l.sinceFresh);
        }
        // The processed module exports the Rust tag: check that the exception is the Rust panic.
        const tag = l.exports.__wasm_unwind_tag;
        const t0 = now();
        batches[i](l.exports.panic_fmt, n, tag);
        elapsed += secs(t0);
        l.sinceFresh += n;
        l.total += n;
        left -= n;
      }
      if (round > 0) l.us.push((elapsed * 1e6) / PANICS);
    }
  }
  if (kept.__wasm_unwind_state() !== 0) throw new Error('processed instance no longer live');
  if (kept.stack_pointer() !== sp0) throw new Error('shadow stack pointer moved');
  if (kept.add(1, 2) !== 3) throw new Error('processed add(1, 2) after the panics');

  console.log(`## per panic: \`panic_fmt(13)\` caught in JS, ${PANICS} panics a round (µs a panic, median; min-max over rounds)`);
  console.log('');
  console.log('Instantiation is not timed.');
  console.log('');
  console.log('| module | µs/panic | min-max | vs unprocessed |');
  console.log('|---|---:|---:|---:|');
  const base = median(lanes[0].us);
  lanes.forEach((l, i) => {
    const m = median(l.us);
    console.log(`| ${l.label} | ${m.toFixed(2)} | ${range(l.us)} | ${i === 0 ? '-' : pct(m, base)} |`);
  });
  console.log('');
  console.log(`The processed instance kept throughout took ${lanes[1].total} panics (warm-up included) and is still live, shadow stack pointer unchanged.`);
  const memory1 = [kept, withRuntime].map((e) => e.memory.buffer.byteLength);
  console.log(`Linear memory over those panics: ${memory0[0]} -> ${memory1[0]} bytes without the runtime, ${memory0[1]} -> ${memory1[1]} with it (${lanes[3].total} panics).`);
  console.log('');
}

perCall(variants, CALLS, 'add', () => [1, 2], 3);
perCall(variants, CALLS, 'call_host', () => [1], 11);
perCall(medium, Math.max(1, Math.floor(CALLS / 20)), 'json_count', jsonArgs, 7);
perPanic();
console.log(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
