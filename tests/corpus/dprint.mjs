// @dprint/json (a dprint plugin: Rust with its own plugin ABI, no wasm-bindgen) run by dprint's
// JS host @dprint/formatter: JSONC formatted, configuration diagnostics, and a syntax error.
import { readFileSync } from 'node:fs';
import { run } from './harness.mjs';

const INPUT = `// settings
{"name":"corpus","list":[1,2,3,{"deep":{"deeper":[true,false,null]}}],
  /* block */ "trailing": [ "a", "b", ],"n": -1.5e10}
`;

await run(async (pkg) => {
  const { createFromBuffer } = await pkg.import('@dprint/formatter/esm/mod.js');
  const formatter = createFromBuffer(readFileSync(pkg.require('@dprint/json').getPath()));
  const format = (fileText, path = 'file.jsonc') => JSON.stringify(formatter.formatText({ filePath: path, fileText }));
  return {
    steps: [
      ['plugin info', () => { const i = formatter.getPluginInfo(); return `${i.name} ${i.version}`; }],
      ['config', () => {
        formatter.setConfig({ indentWidth: 4, lineWidth: 60 }, { trailingCommas: 'never', noSuchKey: 1 });
        return JSON.stringify(formatter.getConfigDiagnostics());
      }],
      ['resolved config', () => JSON.stringify(formatter.getResolvedConfig())],
      ['format', () => format(INPUT)],
      ['format large', () => format(`[${Array.from({ length: 3000 }, (_, i) => `{"k${i}":${i}}`).join(',')}]`).length],
      ['syntax error', () => format('{"a": 1,, "b": }')],
      ['format after error', () => format('{"after":"error"}')],
    ],
  };
});
