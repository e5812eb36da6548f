;; A `call_indirect` through an exported table, of a type whose parameter is a reference to a
;; type of the module: the guard's shim for it needs that type by its index in the module (the
;; validator's canonical form does not encode; the tool panicked).
(module
  (type $s (struct (field i32)))
  (type $f (func (param (ref null $s)) (result i32)))
  (table $t (export "table") 2 funcref)
  (elem (table $t) (i32.const 0) func $get)
  (func $get (type $f)
    (if (result i32) (ref.is_null (local.get 0))
      (then (i32.const -1))
      (else (struct.get $s 0 (local.get 0)))))
  (func (export "call") (result i32)
    (call_indirect $t (type $f) (struct.new $s (i32.const 7)) (i32.const 0)))
  (func (export "call_null") (result i32)
    (call_indirect $t (type $f) (ref.null $s) (i32.const 0))))
