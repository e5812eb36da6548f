;; A host-visible function table the module mutates (`table.set`): its instantiation entries are
;; wrappers, but what the module stores there at run time (`ref.func $two`) is the original, so a
;; host call through such a slot is unguarded. The summary says so in one line, never leaving a
;; silent hole (issue 10 item 1).
(module
  (type $ii (func (param i32) (result i32)))
  (table $t (export "table") 4 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (func $one (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $two (type $ii) (i32.add (local.get 0) (i32.const 2)))
  (func (export "install") (param $slot i32)
    (table.set $t (local.get $slot) (ref.func $two)))
  (func (export "dispatch") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $ii) (local.get $x) (local.get $slot))))
