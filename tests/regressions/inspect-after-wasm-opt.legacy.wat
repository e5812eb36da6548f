;; As inspect-after-wasm-opt.exnref.wat, in the legacy encoding.
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
    try (result i32)
      i32.const 1
      throw $__cpp_exception
    catch $__cpp_exception
    end))
