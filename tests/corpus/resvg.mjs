// @resvg/resvg-wasm (Rust resvg through wasm-bindgen, `--target web`): SVG rendered to PNG through
// its own ES module glue, and an SVG it cannot parse.
import { readFileSync } from 'node:fs';
import { run, digest } from './harness.mjs';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="90" viewBox="0 0 120 90">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#f60"/><stop offset="1" stop-color="#06f"/></linearGradient></defs>
  <rect x="4" y="4" width="112" height="82" rx="12" fill="url(#g)" stroke="#222" stroke-width="3"/>
  <circle cx="60" cy="45" r="24" fill="none" stroke="white" stroke-width="6" stroke-dasharray="8 4"/>
  <path d="M10 80 Q 60 10 110 80" fill="none" stroke="black" opacity="0.5"/>
</svg>`;

await run(async (pkg) => {
  const { initWasm, Resvg } = await pkg.import('@resvg/resvg-wasm/index.mjs');
  await initWasm(readFileSync(pkg.path('@resvg/resvg-wasm/index_bg.wasm')));
  const render = (svg, options) => {
    const resvg = new Resvg(svg, options);
    const image = resvg.render();
    const png = image.asPng();
    const line = `${image.width}x${image.height} png ${png.length} bytes ${digest(png)}`;
    image.free();
    resvg.free();
    return line;
  };
  return {
    steps: [
      ['render', () => render(SVG)],
      ['render scaled', () => render(SVG, { fitTo: { mode: 'width', value: 480 }, background: '#fff' })],
      ['bbox', () => { const b = new Resvg(SVG).getBBox(); return [b.x, b.y, b.width, b.height].join(' '); }],
      ['not svg', () => render('<svg><rect width="10" height="10"></svg')],
      ['empty', () => render('')],
      ['render again', () => render(SVG)],
    ],
  };
});
