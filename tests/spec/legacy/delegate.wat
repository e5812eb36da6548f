;; Legacy EH `delegate`, after the spec's legacy try_delegate.wast: to the enclosing `try`, past
;; one `try` to the next (`delegate 1`), and to the caller (`delegate` to the function's own
;; label). Tags and `$throw` as in try_catch.wat.
(module
  (import "env" "throw_js" (func $throw_js))
  (tag $e0 (export "e0"))
  (tag $e1 (export "e1") (param i32))
  (tag $e3 (export "e3") (param i64))
  (func $throw (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e0)))
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e1 (i32.const 11))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $e3 (i64.const 33))))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (call $throw_js))))
  (func (export "delegate_outer") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $throw
        i32.const -1
      delegate 0
    catch $e1
      i32.const 2000
      i32.add
    catch_all
      i32.const 3
    end)
  (func (export "delegate_skip") (param i32) (result i32)
    try (result i32)
      try (result i32)
        try (result i32)
          local.get 0
          call $throw
          i32.const -1
        delegate 1
      catch $e1
        drop
        i32.const 1
      end
    catch $e1
      i32.const 5000
      i32.add
    end)
  (func $to_caller (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw
      i32.const -1
    delegate 0)
  (func (export "delegate_caller") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $to_caller
    catch $e1
      i32.const 4000
      i32.add
    end))
