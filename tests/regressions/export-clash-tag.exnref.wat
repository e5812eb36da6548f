;; Issue 10, item 3. The input already exports `__wasm_unwind_tag`, the name under which the tool
;; exports the Rust unwind tag: one line naming the clash, never an internal error.
(module
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func (export "__wasm_unwind_tag") (result i32)
    i32.const 7)
  (func (export "throws") (param i32)
    local.get 0
    throw $__cpp_exception)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $__cpp_exception 0)
        i32.const 1
        throw $__cpp_exception
      end
      i32.const 0
    end))
