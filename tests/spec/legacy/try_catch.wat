;; Legacy EH `try`/`catch`/`catch_all`, after the spec's legacy try_catch.wast: three tags of
;; three types, thrown one call away from the handler; a handler for one tag lets the others
;; through to the host; a JS exception is caught only by `catch_all`. `$throw` selects by its
;; argument: 0 e0, 1 e1(11), 2 e3(33), 3 the JS exception of `env.throw_js`, else nothing.
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
  (func (export "catch_each") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw
      i32.const -1
    catch $e0
      i32.const 100
    catch $e1
      i32.const 100
      i32.add
    catch $e3
      i32.wrap_i64
      i32.const 300
      i32.add
    catch_all
      i32.const 999
    end)
  (func (export "catch_e1") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw
      i32.const -1
    catch $e1
    end)
  (func (export "nested") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $throw
        i32.const -1
      catch $e3
        i32.wrap_i64
      end
    catch_all
      i32.const 7
    end)
  ;; A trap is not an exception: `catch_all` does not see it.
  (func (export "trap") (result i32)
    try (result i32)
      unreachable
    catch_all
      i32.const 1
    end))
