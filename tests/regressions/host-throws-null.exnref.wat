;; As host-throws-null.legacy.wat, in the exnref encoding, where a host's `null` passes unchanged.
(module
  (import "env" "host" (func $host))
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func $work (result i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    global.set $__stack_pointer
    call $host
    global.get $__stack_pointer
    i32.const 16
    i32.add
    global.set $__stack_pointer
    i32.const 1)
  (func (export "call_host") (result i32)
    call $work)
  (func (export "ok") (result i32)
    i32.const 2)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $__cpp_exception 0)
        i32.const 1
        throw $__cpp_exception
      end
      i32.const 0
    end))
