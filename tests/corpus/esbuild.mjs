// esbuild-wasm (esbuild in Go, GOOS=js GOARCH=wasm, with Go's own wasm_exec glue): TypeScript
// transformed, a bundle built from virtual files by a JS plugin (Go calls back into JS), and a
// syntax error. The package's browser API with `worker: false` runs the wasm in this thread.
import { readFileSync } from 'node:fs';
import { run } from './harness.mjs';

const TS = `
enum Color { Red, Green = 4, Blue }
interface Point { x: number; y: number }
export class Shape<T extends Point> {
  constructor(private readonly points: T[], public color = Color.Green) {}
  get area(): number { return this.points.reduce((a, p, i, ps) => a + p.x * ps[(i + 1) % ps.length].y - p.y * ps[(i + 1) % ps.length].x, 0) / 2; }
}
export const shapes = [1, 2, 3].map((n) => new Shape([{ x: 0, y: 0 }, { x: n, y: 0 }, { x: 0, y: n }]));
`;

// The browser build names the global object `self`, as browsers and workers do.
globalThis.self ??= globalThis;

await run(async (pkg) => {
  const esbuild = await pkg.import('esbuild-wasm/esm/browser.js');
  const wasmModule = new WebAssembly.Module(readFileSync(pkg.path('esbuild-wasm/esbuild.wasm')));
  await esbuild.initialize({ wasmModule, worker: false });
  const files = {
    'entry.js': "import { greet } from './lib.js'; import data from './data.json'; console.log(greet(data.name));",
    'lib.js': 'export const greet = (name) => `hello ${name}`; export const unused = 1;',
    'data.json': '{ "name": "corpus" }',
  };
  const virtual = {
    name: 'virtual',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => ({ path: args.path.replace(/^\.\//, ''), namespace: 'v' }));
      build.onLoad({ filter: /.*/, namespace: 'v' }, (args) => {
        if (!(args.path in files)) throw new Error(`no file ${args.path}`);
        return { contents: files[args.path], loader: args.path.endsWith('.json') ? 'json' : 'js' };
      });
    },
  };
  const messages = (e) => (e.errors ?? []).map((m) => `${m.text} @${m.location?.line}:${m.location?.column}`).join('; ');
  return {
    steps: [
      ['version', () => esbuild.version],
      ['transform ts', async () => (await esbuild.transform(TS, { loader: 'ts', target: 'es2018' })).code],
      ['minify', async () => (await esbuild.transform(TS, { loader: 'ts', minify: true })).code],
      ['bundle', async () => {
        const out = await esbuild.build({ entryPoints: ['entry.js'], bundle: true, write: false, format: 'esm', plugins: [virtual] });
        return out.outputFiles[0].text;
      }],
      ['syntax error', async () => {
        try { return await esbuild.transform('let x = {', { loader: 'js' }); } catch (e) { return `error: ${messages(e)}`; }
      }],
      ['plugin error', async () => {
        files['entry.js'] = "import './missing.js';";
        try { return await esbuild.build({ entryPoints: ['entry.js'], bundle: true, write: false, plugins: [virtual] }); } catch (e) { return `error: ${messages(e)}`; }
      }],
      ['after errors', async () => (await esbuild.transform('const a = 1 + 2', { minify: true })).code],
    ],
    close: () => esbuild.stop?.(),
  };
});
