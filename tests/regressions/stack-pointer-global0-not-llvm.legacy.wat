;; As stack-pointer-global0-not-llvm.exnref.wat, in the legacy encoding.
(module
  (tag (param i32))
  (global (export "alloc_root") (mut i32) (i32.const 0))
  (func (export "bump") (param i32)
    global.get 0
    i32.const 1
    i32.add
    global.set 0
    local.get 0
    if
      i32.const 8
      throw 0
    end)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw 0
    catch 0
    end))
