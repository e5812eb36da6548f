// Runs the exports of state.wasm (see state.wat) interleaved, median ns a call of `f(1, 2)` from a
// JS loop. `deno run --allow-read state.mjs state.wasm` or `node state.mjs state.wasm`.
import { readFileSync } from 'node:fs';

const { exports } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(process.argv[2])), {});
const names = ['plain', 'read', 'write', 'read_write', 'read_other_write', 'memory_read_write', 'try_table'];
// One loop function per variant (new Function: its own feedback).
const loops = names.map(() => new Function('f', 'n', 'let s = 0; for (let k = 0; k < n; k++) s = (s + f(1, 2)) | 0; return s;'));
const CALLS = 2_000_000;
const ROUNDS = 15;
const ns = names.map(() => []);
for (let round = 0; round <= ROUNDS; round++) {
  const order = [...names.keys()];
  if (round % 2) order.reverse();
  for (const i of order) {
    const t = performance.now();
    if (loops[i](exports[names[i]], CALLS) !== 3 * CALLS) throw new Error(`${names[i]}: wrong sum`);
    if (round > 0) ns[i].push(((performance.now() - t) * 1e6) / CALLS);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(ns[0]);
console.log(`| export | ns/call | vs plain |`);
console.log(`|---|---:|---:|`);
names.forEach((name, i) => {
  const m = median(ns[i]);
  console.log(`| ${name} | ${m.toFixed(2)} | ${i ? `${m - base >= 0 ? '+' : ''}${(m - base).toFixed(2)} ns` : '-'} |`);
});
