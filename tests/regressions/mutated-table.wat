;; A host-visible function table the module mutates (`table.set`): the tool cannot keep a separate
;; table of wrappers in step with it, so its entries stay unguarded. That must be said in one line
;; of the summary and in `inspect`, never left as a silent hole (issue 10 item 1).
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
