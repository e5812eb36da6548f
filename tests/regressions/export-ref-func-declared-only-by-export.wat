;; Found by fuzz_fixed_seed (wasm-mutate; the two mutated-undeclared-ref-func-*.wasm). Function
;; $f is declared for `ref.func` only by its export. Wrapping repoints the export to the wrapper,
;; so nothing declares $f any more and the `ref.func $f` in code fails validation ("undeclared
;; function reference"). The tool does not notice: it validates only what it changed.
(module
  (func $f (export "f"))
  (func (export "g") (result funcref) ref.func $f))
