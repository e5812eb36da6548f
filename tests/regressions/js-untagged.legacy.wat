;; As js-untagged.exnref.wat, in the legacy encoding.
(module
  (tag $oops)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func (export "throws")
    throw $oops)
  (func (export "caught") (result i32)
    try
      throw $oops
    catch $oops
    end
    i32.const 1))
