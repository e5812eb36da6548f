;; As stack-pointer-absent.exnref.wat, in the legacy encoding.
(module
  (tag $t (param i32))
  (func (export "throws") (param i32) (result i32)
    local.get 0
    if
      i32.const 8
      throw $t
    end
    local.get 0
    i32.const 1
    i32.add)
  (func (export "traps")
    unreachable)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw $t
    catch $t
    end))
