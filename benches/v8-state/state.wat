;; What V8 charges for reading and writing instance state around a call (issue 14): each export
;; calls the same `$add`, with nothing, a read, a write, or both of a global (or of memory)
;; around it, in the shape the guard's inlined checks take. Assembled by ../v8-state.sh.
(module
  (memory (export "memory") 1)
  (global $status (mut i32) (i32.const 0))
  (global $other (mut i32) (i32.const 0))
  (func $add (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $refuse unreachable)
  (func (export "plain") (param i32 i32) (result i32)
    local.get 0 local.get 1 call $add)
  (func (export "read") (param i32 i32) (result i32)
    global.get $status if call $refuse end
    local.get 0 local.get 1 call $add)
  (func (export "write") (param i32 i32) (result i32)
    i32.const 1 global.set $status
    local.get 0 local.get 1 call $add
    i32.const 0 global.set $status)
  (func (export "read_write") (param i32 i32) (result i32)
    global.get $status if call $refuse end
    i32.const 1 global.set $status
    local.get 0 local.get 1 call $add
    i32.const 0 global.set $status)
  ;; Read one global, write another: not a dependence through one location.
  (func (export "read_other_write") (param i32 i32) (result i32)
    global.get $other if call $refuse end
    i32.const 1 global.set $status
    local.get 0 local.get 1 call $add
    i32.const 0 global.set $status)
  ;; The status in linear memory instead of a global.
  (func (export "memory_read_write") (param i32 i32) (result i32)
    i32.const 16 i32.load if call $refuse end
    i32.const 16 i32.const 1 i32.store
    local.get 0 local.get 1 call $add
    i32.const 16 i32.const 0 i32.store)
  ;; The wrapper's catch-all alone, without the guard.
  (func (export "try_table") (param i32 i32) (result i32)
    block (result exnref)
      local.get 0 local.get 1
      try_table (param i32 i32) (result i32) (catch_all_ref 0) call $add end
      return
    end
    throw_ref))
