// wasm-vips (libvips in C++ by Emscripten with -fwasm-exceptions and pthreads: legacy EH, shared
// memory, a pool of worker instances; vips.wasm is a MAIN_MODULE that loads its side modules
// vips-heif/jxl/resvg.wasm at start-up): images made, transformed and encoded (PNG, and JPEG XL
// by a side module) through its own glue, and an image it cannot decode (a C++ exception reaching JS).
import { run, digest } from './harness.mjs';

await run(async (pkg) => {
  const { default: Vips } = await pkg.import('wasm-vips/lib/vips-node.mjs');
  const vips = await Vips({
    locateFile: (file) => pkg.path(`wasm-vips/lib/${file}`),
    // The package's own console lines (version banners) go into the transcript too.
    print: (line) => console.log(line),
    printErr: (line) => console.error(line),
  });
  const describeImage = (image) => `${image.width}x${image.height}x${image.bands} ${image.format} avg ${image.avg().toFixed(4)}`;
  return {
    steps: [
      ['version', () => vips.version()],
      ['build', () => describeImage(vips.Image.xyz(97, 61).extractBand(0).linear(2.5, 3))],
      ['png round trip', () => {
        const image = vips.Image.gaussnoise(80, 60, { mean: 128, sigma: 20, seed: 7 }).cast('uchar');
        const png = image.writeToBuffer('.png');
        const back = vips.Image.newFromBuffer(png);
        return `${png.length} bytes ${digest(png)} -> ${describeImage(back)}`;
      }],
      ['resize and blur', () => {
        const image = vips.Image.xyz(300, 200).extractBand(1).cast('uchar');
        const out = image.resize(0.37).gaussblur(1.2).cast('uchar');
        return `${describeImage(out)} ${digest(out.writeToBuffer('.png'))}`;
      }],
      ['jxl (jxl side module)', () => {
        const jxl = vips.Image.xyz(40, 30).extractBand(0).cast('uchar').writeToBuffer('.jxl', { lossless: true });
        return describeImage(vips.Image.newFromBuffer(jxl));
      }],
      ['not an image', () => vips.Image.newFromBuffer(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))],
      ['bad operation', () => vips.Image.black(10, 10).extractArea(5, 5, 20, 20).avg()],
      ['after errors', () => describeImage(vips.Image.black(8, 8).add(3))],
    ],
    close: () => vips.shutdown(),
  };
});
