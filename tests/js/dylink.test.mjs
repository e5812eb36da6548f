// Emscripten dynamic linking with Emscripten's own loader (the glue of web-tree-sitter): its
// main module loads side modules with `loadWebAssemblyModule`, each at a base it allocates.
// Written by tests/dylink.rs into WASM_UNWIND_JS_DIR:
//   plain/, processed/         the glue, with web-tree-sitter.wasm unprocessed / processed
//                              (each copy of the glue is a program of its own)
//   grammar.{plain,processed}.wasm  tree-sitter-javascript, a real side module
//   side.{plain,processed}.wasm     fixtures/dylink/side.wat: a side module with the runtime's
//                              word at a relative address, `bump` and `boom`; processed, it
//                              imports GOT.mem.__wasm_unwind_terminated, the program's word

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const DIR = process.env.WASM_UNWIND_JS_DIR;
const bytes = (name) => new Uint8Array(readFileSync(join(DIR, name)));

/** A program: the glue over the main in `main` (`plain`, `processed`); `opts` is Emscripten's
 * `Module`, whose `loadWebAssemblyModule` loads a side module as `Language.load` does. The glue
 * starts its program once (on the first `Parser.init`), so each is made once. */
const programs = new Map();
const program = (main) => {
  if (!programs.has(main)) programs.set(main, start(main));
  return programs.get(main);
};

async function start(main) {
  const ts = createRequire(join(DIR, main, 'x.js'))('./web-tree-sitter.cjs');
  const opts = { locateFile: (file) => join(DIR, main, file) };
  await ts.Parser.init(opts);
  const side = (name) => opts.loadWebAssemblyModule(bytes(name), { loadAsync: true });
  return { ts, opts, side };
}

const SOURCE = 'class A extends B { m(x) { return x?.y ?? [1, 2, ...z]; } }\nlet s = `t${u}`;';

/** The tree the grammar in `name` gives for SOURCE, in program `p`. */
async function parse(p, name) {
  const language = await p.ts.Language.load(bytes(name));
  const parser = new p.ts.Parser();
  parser.setLanguage(language);
  const tree = parser.parse(SOURCE);
  const text = tree.rootNode.toString();
  tree.delete();
  parser.delete();
  return text;
}

for (const main of ['plain', 'processed']) {
  test(`${main} main: a processed grammar parses as the unprocessed one`, async () => {
    const p = await program(main);
    const plain = await parse(p, 'grammar.plain.wasm');
    assert.match(plain, /^\(program \(class_declaration/);
    assert.equal(await parse(p, 'grammar.processed.wasm'), plain);
  });
}

/** Side modules `a` and `b` loaded in that order into program `p`, both processed, and an
 * unprocessed one. */
async function sides(p) {
  return [
    await p.side('side.processed.wasm'),
    await p.side('side.processed.wasm'),
    await p.side('side.plain.wasm'),
  ];
}

test('side modules with the runtime share one word: a trap in the later one ends both', async () => {
  const p = await program('processed');
  const [a, b, plain] = await sides(p);
  // The loader relocated each one's word: it lies in that module's own data.
  const [word, own] = [a.__wasm_unwind_terminated, b.__wasm_unwind_terminated];
  assert.ok(word > 8 && own > word, `relocated words at ${word}, ${own}`);
  const low = p.opts.getValue(8, 'i32');
  // Without a trap, processed computes as unprocessed.
  assert.deepEqual([a.bump(), a.bump()], [plain.bump(), plain.bump()]);
  assert.equal(b.bump(), 1, 'each counts in its own data');
  assert.equal(p.opts.getValue(word, 'i32'), 0);

  assert.throws(() => b.boom(), WebAssembly.RuntimeError);
  assert.throws(() => b.bump(), WebAssembly.RuntimeError, 'refused after its own trap');
  assert.throws(() => a.bump(), WebAssembly.RuntimeError, 'the other side module is refused too');
  assert.deepEqual([a.__wasm_unwind_state(), b.__wasm_unwind_state()], [1, 1]);
  assert.equal(p.opts.getValue(word, 'i32'), 1, 'the latch set the program\'s word: the first loaded one\'s');
  assert.equal(p.opts.getValue(own, 'i32'), 0, 'the later module\'s own copy is not used');
  assert.equal(p.opts.getValue(8, 'i32'), low, 'the main\'s memory at the unrelocated address is untouched');

  // A side module loaded after the trap is refused at its first entry.
  const late = await p.side('side.processed.wasm');
  assert.throws(() => late.bump(), WebAssembly.RuntimeError, 'a module loaded later is refused');
  assert.equal(late.__wasm_unwind_state(), 1);

  // The main, the grammar and the unprocessed side module have no runtime: they keep running,
  // as the warning says.
  assert.equal(plain.bump(), 3);
  assert.match(await parse(p, 'grammar.processed.wasm'), /^\(program/);
});

test('the other way round: a trap in the first side module ends the later one', async () => {
  const p = await program('plain');
  const [a, b] = await sides(p);
  assert.deepEqual([a.bump(), b.bump()], [1, 1]);
  assert.throws(() => a.boom(), WebAssembly.RuntimeError);
  // A trap leaves its trace in its own instance only: the host asks it, which latches.
  assert.equal(a.__wasm_unwind_state(), 1);
  assert.throws(() => b.bump(), WebAssembly.RuntimeError, 'the later side module is refused');
  assert.equal(b.__wasm_unwind_state(), 1);
  assert.equal(p.opts.getValue(a.__wasm_unwind_terminated, 'i32'), 1);
});
