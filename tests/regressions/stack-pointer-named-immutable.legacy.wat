;; As stack-pointer-named-immutable.exnref.wat, in the legacy encoding.
(module
  (tag $t (param i32))
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (global $__stack_pointer i32 (i32.const 65536))
  (func (export "bump") (param i32)
    global.get $counter
    i32.const 1
    i32.add
    global.set $counter
    local.get 0
    if
      i32.const 8
      throw $t
    end)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw $t
    catch $t
    end))
