;; A function table the host writes at run time, as Emscripten's glue does (`addFunction`: grow
;; the exported table, put a JS function in the new slot, then C calls it through
;; `call_indirect`), and whose host function calls back into an export while the module waits
;; on it (sqlite's `sqlite3_result_*` from a SQL function written in JS). The table must stay one:
;; what the host writes, the module's own `call_indirect` sees; and the callback must be served.
;;
;; Slots: 0 empty, 1 add1, 2 trap; the host grows the table and fills slots from 3 on.
(module
  (type $ii (func (param i32) (result i32)))
  (tag $__cpp_exception (param i32))
  (memory (export "memory") 2)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $last (mut i32) (i32.const 0))
  (export "last" (global $last))
  (table $t (export "table") 3 funcref)
  (elem (table $t) (i32.const 1) func $add1 $trap)
  (func $add1 (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $trap (type $ii) unreachable)
  ;; What a host function calls back into: records its argument.
  (func (export "result") (param i32) (result i32)
    (global.set $last (local.get 0))
    (local.get 0))
  ;; `dispatch(slot, x)`: the module's own call through the table, in a frame of its own.
  (func (export "dispatch") (param $slot i32) (param $x i32) (result i32)
    (local $r i32)
    (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (local.set $r (call_indirect (type $ii) (local.get $x) (local.get $slot)))
    (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (i32.const 16)))
    (local.get $r))
  ;; The same as a tail call.
  (func (export "tail_dispatch") (param $slot i32) (param $x i32) (result i32)
    (return_call_indirect (type $ii) (local.get $x) (local.get $slot)))
)
