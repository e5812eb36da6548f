;; Issue 10, item 4. Small originals, each called only by its wrapper once processed, so
;; `wasm-opt -O` inlines them into their wrappers and renumbers every function; it keeps the
;; marker section. `inspect` must still tell the wrappers and the guard by their shape (it used
;; to go by the function index the marker recorded, and called every export unwrapped).
(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "throws") (param i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    global.set $__stack_pointer
    local.get 0
    throw $__cpp_exception)
  (func (export "call_host") (param i32) (result i32)
    local.get 0
    call $host)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $__cpp_exception 0)
        i32.const 1
        throw $__cpp_exception
      end
      i32.const 0
    end))
