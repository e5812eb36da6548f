;; As export-clash-tag.exnref.wat, in the legacy encoding.
(module
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func (export "__wasm_unwind_tag") (result i32)
    i32.const 7)
  (func (export "throws") (param i32)
    local.get 0
    throw $__cpp_exception)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw $__cpp_exception
    catch $__cpp_exception
    end))
