;; As duplicate-global-names.exnref.wat, in the legacy encoding.
(module
  (tag (param i32))
  (global (mut i32) (i32.const 1024))
  (global (mut i32) (i32.const 2048))
  (func (export "throws") (param i32)
    global.get 1
    i32.const 16
    i32.sub
    global.set 1
    local.get 0
    throw 0)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw 0
    catch 0
    end)
  (@custom "name" "\07\23\02\00\0f__stack_pointer\01\0f__stack_pointer"))
