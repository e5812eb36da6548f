// @oxc-parser/binding-wasm32-wasi (oxc's parser in Rust through napi-rs on wasm32-wasip1-threads:
// a WASI module over shared memory, run by emnapi under node:wasi with worker threads): modules
// parsed synchronously and asynchronously (on a worker), and sources with syntax errors.
import { run, digest } from './harness.mjs';

const SOURCE = `
import { a as b } from './x.js';
export default class Queue<T> extends Array<T> {
  #head = 0;
  static of<U>(...xs: U[]): Queue<U> { const q = new Queue<U>(); q.push(...xs); return q; }
  shift(): T | undefined { return this.length > this.#head ? this[this.#head++] : undefined; }
}
export const run = async (q: Queue<number>) => { for await (const x of q) b?.(x ** 2); };
`.repeat(30);

await run(async (pkg) => {
  const oxc = pkg.require('@oxc-parser/binding-wasm32-wasi');
  const show = (result) => {
    const errors = result.errors.map((e) => `${e.severity} ${e.message}`).join(' | ');
    return `program ${digest(result.program)} module ${digest(JSON.stringify(result.module))} comments ${result.comments.length} errors [${errors}]`;
  };
  return {
    steps: [
      ['parse ts', () => show(oxc.parseSync('queue.ts', SOURCE, { sourceType: 'module' }))],
      ['parse js', () => show(oxc.parseSync('small.js', '// one\nconst answer = 6 * 7; /* two */', {}))],
      ['syntax error', () => show(oxc.parseSync('bad.js', 'let let = ; function (', {}))],
      ['ts in js', () => show(oxc.parseSync('bad.js', 'let x: number = 1;', {}))],
      ['parse async', async () => show(await oxc.parse('queue.tsx', SOURCE.replaceAll('<U>()', '<U,>()'), {}))],
      ['after errors', () => show(oxc.parseSync('small.js', 'export {}', {}))],
    ],
  };
});
