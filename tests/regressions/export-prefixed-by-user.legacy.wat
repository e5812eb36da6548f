;; As export-prefixed-by-user.exnref.wat, in the legacy encoding.
(module
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func (export "__wasm_unwind_user") (param i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    global.set $__stack_pointer
    local.get 0
    throw $__cpp_exception)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw $__cpp_exception
    catch $__cpp_exception
    end))
