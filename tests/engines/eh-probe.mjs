// Smoke probe: does this engine run Wasm exception handling in both encodings?
// Builds two tiny modules in memory (hand-assembled, no wat tooling), each exporting a
// tag and functions that throw it, rethrow it, and pass a JS exception through a handler:
//   legacy: try / catch_all / rethrow 0
//   exnref: block (result exnref) / try_table (catch_all_ref 0) / throw_ref
// Usage: .engines/bin/node24 tests/engines/eh-probe.mjs | .engines/bin/deno run tests/engines/eh-probe.mjs
// Prints a JSON report; exits 1 unless both encodings compile and throw WebAssembly.Exception.
const u32 = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const str = (s) => [...u32(s.length), ...new TextEncoder().encode(s)];
const vec = (items) => [...u32(items.length), ...items.flat()];
const sec = (id, body) => [id, ...u32(body.length), ...body];
const func = (body) => { const b = [0x00 /* no locals */, ...body, 0x0b]; return [...u32(b.length), ...b]; };

function module(kind) {
  const wrap = (callee) => kind === 'legacy'
    ? [0x06, 0x40, 0x20, 0x00, 0x10, callee, 0x19, 0x09, 0x00, 0x0b]          // try; local.get 0; call; catch_all; rethrow 0; end
    : [0x02, 0x69,                                                             // block (result exnref)
       0x1f, 0x40, 0x01, 0x03, 0x00,                                           //   try_table (catch_all_ref 0) ; catch labels skip the try_table itself
       0x20, 0x00, 0x10, callee, 0x0b,                                         //     local.get 0; call; end
       0x0f, 0x0b,                                                             //   return; end
       0x0a];                                                                  // throw_ref
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...sec(1, vec([[0x60, 0x01, 0x7f, 0x00]])),                                // type 0: (i32) -> ()
    ...sec(2, vec([[...str('env'), ...str('js_throw'), 0x00, 0x00]])),         // import func 0
    ...sec(3, vec([[0x00], [0x00], [0x00]])),                                  // funcs 1..3
    ...sec(13, vec([[0x00, 0x00]])),                                           // tag 0 : type 0
    ...sec(7, vec([[...str('tag'), 0x04, 0x00], [...str('throws'), 0x00, 0x01],
                   [...str('rethrows'), 0x00, 0x02], [...str('passes_js'), 0x00, 0x03]])),
    ...sec(10, vec([func([0x20, 0x00, 0x08, 0x00]), func(wrap(1)), func(wrap(0))])),
  ]);
}
function check(inputs) {
  const out = { JSTag: typeof WebAssembly.JSTag, Exception: typeof WebAssembly.Exception };
  for (const [name, src] of Object.entries(inputs)) {
    const r = (out[name] = {});
    let mod;
    try { mod = src instanceof WebAssembly.Module ? src : new WebAssembly.Module(src); r.compile = 'ok'; }
    catch (e) { r.compile = `${e.constructor.name}: ${e.message}`; continue; }
    const jsErr = new Error('from js');
    const inst = new WebAssembly.Instance(mod, { env: { js_throw: () => { throw jsErr; } } });
    const { tag } = inst.exports;
    for (const f of ['throws', 'rethrows']) {
      try { inst.exports[f](42); r[f] = 'no throw'; }
      catch (e) {
        r[f] = e instanceof WebAssembly.Exception
          ? `WebAssembly.Exception is(tag)=${e.is(tag)} arg=${e.getArg(tag, 0)}`
          : `${e?.constructor?.name}: ${e?.message}`;
      }
    }
    try { inst.exports.passes_js(0); r.passes_js = 'no throw'; }
    catch (e) { r.passes_js = e === jsErr ? 'same JS Error object' : `${e?.constructor?.name}: ${e?.message}`; }
  }
  return out;
}

const report = check({ legacy: module('legacy'), exnref: module('exnref') });
console.log(JSON.stringify(report, null, 1));
const want = 'WebAssembly.Exception is(tag)=true arg=42';
const ok = ['legacy', 'exnref'].every((k) => report[k].compile === 'ok' && report[k].throws === want
  && report[k].rethrows === want && report[k].passes_js === 'same JS Error object');
if (!ok) { console.error('eh-probe: FAILED'); globalThis.process ? process.exit(1) : Deno.exit(1); }
