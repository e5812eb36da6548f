;; Issue 10, item 1: after a trap, nothing a host reaches through an exported table may run
;; instance code. Found while writing the robustness generator's table checks.
;;
;; Slot 0 holds the import `env.host_callback`. In the host's table of wrappers that slot holds
;; the import's guard shim, which marks the instance idle before it calls out (it assumes Rust
;; code called it, and the host may call back in). After the trap in `trap`, the status still says
;; "running" (not yet latched), so a host that calls slot 0 gets the shim, the shim marks the
;; instance idle, and when `env.host_callback` calls back into the export `bump`, `bump` runs on
;; the broken instance: `count` becomes 1, where every entry after a trap must be refused.
;; Called instead as the raw import (as an export of it is, or as the unprocessed table holds
;; it), the same callback finds the status "running" and `bump` is refused.
;;
;; Expected: after `trap`, calling slot 0 from the host with a `host_callback` that calls `bump`
;; leaves `count` as it was (`bump` refused) and `__wasm_unwind_state()` at 1. It was one more:
;; fixed by giving the host's table the import itself, not its shim
;; (`tests/entries.rs`, `after_an_abort_an_import_called_through_the_table_cannot_call_back_in`).
(module
  (import "env" "host_callback" (func $host (param i32) (result i32)))
  (global $count (export "count") (mut i32) (i32.const 0))
  (table $t (export "table") 2 funcref)
  (elem (table $t) (i32.const 0) func $host $bump)
  (func $bump (export "bump") (param i32) (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "call_host") (param i32) (result i32)
    (call $host (local.get 0)))
  (func (export "trap")
    unreachable))
