;; As shim-ref-func-declared-by-global.wat, with the import declared by re-exporting it.
(module
  (import "env" "f" (func $f (result i32)))
  (export "f" (func $f))
  (func (export "get") (result funcref) ref.func $f))
