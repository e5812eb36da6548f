;; A miniature of wasm-bindgen's abort machinery (0.2.130 output, after its CLI), for issue 11:
;; its flag `__instance_terminated` (the address of a u32 in memory), the address of the abort
;; hook's table slot `__abort_handler`, and the function table its glue calls the hook through
;; (`__wbindgen_export_2`). After a trap the glue sets the flag and calls `table.get(slot)()`; the
;; hook calls the `__wbindgen_reinit` import to schedule a fresh instance. The tool must let that
;; hook run (and its import call), refuse everything else, and keep the flag and its own state in
;; agreement. tests/js/bindgen_hook.test.mjs plays the glue.
(module
  (type $v (func))
  (import "./bindgen_bg.js" "__wbindgen_reinit" (func $reinit))
  (import "./bindgen_bg.js" "__wbg_log" (func $log (param i32)))
  (memory (export "memory") 1)
  (global $__stack_pointer (mut i32) (i32.const 4096))
  (global $count (mut i32) (i32.const 0))
  (global $terminated i32 (i32.const 1024))
  (global $abort_handler i32 (i32.const 1028))
  (export "__instance_terminated" (global $terminated))
  (export "__abort_handler" (global $abort_handler))
  (export "count" (global $count))
  (table $t 4 funcref)
  (export "__wbindgen_export_2" (table $t))
  ;; Slot 1: the default hook (wasm-bindgen's no-op); 2: the user's hook; 3: another `() -> ()`
  ;; entry (a closure invoker), which must be refused after an abort.
  (elem (table $t) (i32.const 1) func $no_op $hook $bump)
  (data (i32.const 1028) "\01\00\00\00")
  (func $no_op)
  (func $hook (call $reinit))
  (func $bump (global.set $count (i32.add (global.get $count) (i32.const 1))))
  ;; handler::set_on_abort(hook)
  (func (export "set_hook") (i32.store (global.get $abort_handler) (i32.const 2)))
  (func (export "abort_now") unreachable)
  (func (export "counter_inc") (result i32)
    (call $log (global.get $count))
    (call $bump)
    (global.get $count))
  (func (export "__wbindgen_malloc") (param i32) (result i32) (local.get 0)))
