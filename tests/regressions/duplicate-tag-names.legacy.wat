;; As duplicate-tag-names.exnref.wat, in the legacy encoding.
(module
  (tag (param i32))
  (tag (param i32))
  (global (mut i32) (i32.const 1024))
  (func (export "throws0") (param i32)
    local.get 0
    throw 0)
  (func (export "throws1") (param i32)
    local.get 0
    throw 1)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw 0
    catch 0
    end)
  (@custom "name" "\0b\23\02\00\0f__cpp_exception\01\0f__cpp_exception"))
