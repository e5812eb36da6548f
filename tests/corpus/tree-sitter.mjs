// web-tree-sitter (the tree-sitter runtime, Emscripten MAIN_MODULE) with the JavaScript grammar
// (an Emscripten SIDE_MODULE from tree-sitter-javascript): the runtime loads the grammar into its
// table at run time and calls it through `call_indirect`; the grammar calls back into the
// runtime's exports during a parse.
import { run, digest } from './harness.mjs';

const SOURCE = `
import { readFile } from 'node:fs/promises';
export async function* lines(path, { encoding = 'utf8' } = {}) {
  const text = await readFile(path, encoding);
  for (const [i, line] of text.split(/\\r?\\n/).entries()) yield \`\${i + 1}: \${line}\`;
}
class Counter extends Map { add(k) { this.set(k, (this.get(k) ?? 0) + 1); return this; } }
const big = 12_345n ** 3n, re = /a+b?/giu, t = a?.b ?? c;
`.repeat(40);

await run(async (pkg) => {
  const { Parser, Language } = pkg.require('web-tree-sitter');
  await Parser.init({ locateFile: (file) => pkg.path(`web-tree-sitter/${file}`) });
  const JavaScript = await Language.load(pkg.path('tree-sitter-javascript/tree-sitter-javascript.wasm'));
  const parser = new Parser();
  parser.setLanguage(JavaScript);
  const parse = (text) => {
    const tree = parser.parse(text);
    const root = tree.rootNode;
    const line = `${root.type} children=${root.childCount} error=${root.hasError} sexp=${digest(root.toString())}`;
    tree.delete();
    return line;
  };
  return {
    steps: [
      ['language', () => `abi ${JavaScript.abiVersion ?? JavaScript.version} nodes ${JavaScript.nodeTypeCount}`],
      ['parse', () => parse(SOURCE)],
      ['first statement', () => {
        const tree = parser.parse('let answer = 6 * 7;');
        const text = tree.rootNode.toString();
        tree.delete();
        return text;
      }],
      ['syntax error', () => {
        const tree = parser.parse('function (] { return ; ');
        const text = `${tree.rootNode.hasError} ${tree.rootNode.toString()}`;
        tree.delete();
        return text;
      }],
      ['query', () => {
        const tree = parser.parse(SOURCE);
        const query = new (pkg.require('web-tree-sitter').Query)(JavaScript, '(class_declaration name: (identifier) @name)');
        const names = query.captures(tree.rootNode).map((c) => c.node.text);
        tree.delete();
        return `${names.length} ${names[0]}`;
      }],
      ['bad query', () => new (pkg.require('web-tree-sitter').Query)(JavaScript, '(no_such_node')],
    ],
    close: () => parser.delete(),
  };
});
