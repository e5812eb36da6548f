// hyphenopoly (its engine is AssemblyScript, compiled with each language's patterns into one wasm
// per language, `patterns/<lang>.wasm`): English and German text hyphenated through its own
// loader, exceptions, and a language it has no patterns for. Needs Node >= 22.
import { readFile } from 'node:fs/promises';
import { run } from './harness.mjs';

const EN = 'Hyphenation enhances justification; extraordinarily incomprehensible characteristics notwithstanding.';
const DE = 'Silbentrennung verbessert den Blocksatz der Donaudampfschifffahrtsgesellschaftskapitänsmütze.';

await run(async (pkg) => {
  const { default: hyphenopoly } = await pkg.import('hyphenopoly/hyphenopoly.module.js');
  const hyphenators = hyphenopoly.config({
    exceptions: { 'en-us': 'en-han-ces' },
    hyphen: '-',
    minWordLength: 5,
    loader: (file) => readFile(pkg.path(`hyphenopoly/patterns/${file}`)),
    require: ['en-us', 'de', 'xx-none'],
  });
  const missing = hyphenators.get('xx-none');
  missing.catch(() => {}); // rejected before its step runs: awaited there
  const en = await hyphenators.get('en-us');
  const de = await hyphenators.get('de');
  return {
    steps: [
      ['en-us', () => en(EN)],
      ['de', () => de(DE)],
      ['long text', () => en(EN.repeat(200)).length],
      ['html', () => en('<p class="justification">hyphenation everywhere</p>')],
      ['unknown language', () => missing],
    ],
  };
});
