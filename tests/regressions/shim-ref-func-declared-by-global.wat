;; Found by fuzz_fixed_seed (wasm-smith). The import is declared for `ref.func` only by a global
;; initializer. The abort guard redirects the `ref.func $f` in code to the import's shim, which
;; nothing declares (no element segment, export or global names it), so the output fails
;; validation: "undeclared function reference".
(module
  (import "env" "f" (func $f (result i32)))
  (global funcref (ref.func $f))
  (func (export "get") (result funcref) ref.func $f))
