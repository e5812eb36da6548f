;; Issue 10, item 3. A user export whose name happens to start with `__wasm_unwind_` is the
;; user's, not the tool's: it is wrapped like any other (the shadow stack is restored when
;; `__wasm_unwind_user` throws) and listed in the summary. The tool tells its own additions
;; apart by its marker section, not by the prefix.
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
    block (result i32)
      try_table (catch $__cpp_exception 0)
        i32.const 1
        throw $__cpp_exception
      end
      i32.const 0
    end))
