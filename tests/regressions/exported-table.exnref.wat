;; Exported function table, exnref EH encoding.
;;
;; Host entries through an exported function table (issue 10 item 1). A host can call any function
;; in `table` with `table.get(i)(x)` (JS) or `Table::get` + `Func::call` (Wasmtime); before the fix
;; such calls bypassed the wrappers and the guard. The tool puts each function's wrapper into the
;; table in its place; the module's own `call_indirect` goes out through a shim, as an import call
;; does, and the wrappers admit it.
;;
;; Table slots (all `(i32) -> i32`): 1 add1 (uses a shadow-stack frame), 2 trap (unreachable),
;; 3 panic (lowers the stack pointer by 32, then throws the Rust tag like an escaping unwind),
;; 4 bump (count += x), 5 call_host (calls env.host_callback), 6 reenter (calls `dispatch`'s callee
;; indirectly: an internal call made while Rust code runs).
(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "host_callback" (func $host (param i32) (result i32)))
  (tag $__cpp_exception (param i32))
  (memory (export "memory") 2)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $count (mut i32) (i32.const 0))
  (export "stack_pointer_global" (global $__stack_pointer))
  (export "count" (global $count))
  (table $t (export "table") 8 funcref)
  (elem (table $t) (i32.const 1) func $add1 $trap $panic $bump $call_host $reenter)

  (func $add1 (export "add1") (type $ii)
    (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (i32.store (global.get $__stack_pointer) (local.get 0))
    (i32.add (i32.load (global.get $__stack_pointer)) (i32.const 1))
    (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (i32.const 16))))
  (func $trap (export "trap") (type $ii) unreachable)
  (func $panic (type $ii)
    (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 32)))
    (throw $__cpp_exception (local.get 0)))
  (func $bump (type $ii)
    (global.set $count (i32.add (global.get $count) (local.get 0)))
    (global.get $count))
  (func $call_host (type $ii) (call $host (local.get 0)))
  ;; Slot 6 calls slot 1 through the table while Rust code runs: never refused.
  (func $reenter (type $ii)
    (call_indirect (type $ii) (local.get 0) (i32.const 1)))

  ;; The module's own indirect call: `dispatch(slot, x)`.
  (func $dispatch (export "dispatch") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $ii) (local.get $x) (local.get $slot)))

  ;; `n` indirect calls of slot 1 in a loop: what an internal `call_indirect` costs (benches/runtime.rs).
  (func (export "spin") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call_indirect (type $ii) (local.get $acc) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $acc))

  ;; A funcref of an exported function handed to the host as a value.
  (func (export "add1_ref") (result funcref) (ref.func $add1))

  ;; Like `catch_unwind` around an indirect call: a panic gives -1, the frame is restored.
  (func (export "catch_dispatch") (param $slot i32) (param $x i32) (result i32)
    (local $sp i32)
    (local.set $sp (global.get $__stack_pointer))
    (block $caught (result i32)
      (try_table (result i32) (catch $__cpp_exception $caught)
        (call_indirect (type $ii) (local.get $x) (local.get $slot)))
      return)
    drop
    (global.set $__stack_pointer (local.get $sp))
    (i32.const -1))
)
