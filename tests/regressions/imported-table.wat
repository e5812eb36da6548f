;; A function table the host provides: the module fills it at instantiation, and the host holds
;; it. What the module puts there is put there as its wrapper, so a host call through the table is
;; guarded (issue 10 item 1), and the module's `call_indirect` sees what others write (issue 19).
(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "table" (table $t 4 funcref))
  (elem (table $t) (i32.const 0) func $one)
  (func $one (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func (export "dispatch") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $ii) (local.get $x) (local.get $slot))))
