;; Legacy EH `rethrow`, after the spec's legacy rethrow.wast: `rethrow 0` from `catch` and
;; `catch_all`, and `rethrow 1` out of a nested handler, which rethrows the outer handler's
;; exception (e1), not the inner one (e2). Tags and `$throw` as in try_catch.wat.
(module
  (import "env" "throw_js" (func $throw_js))
  (tag $e0 (export "e0"))
  (tag $e1 (export "e1") (param i32))
  (tag $e2 (export "e2") (param i64))
  (func $throw (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e0)))
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e1 (i32.const 11))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $e2 (i64.const 22))))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (call $throw_js))))
  (func (export "rethrow_depth") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $throw
        i32.const -1
      catch $e1
        drop
        try
          i64.const 5
          throw $e2
        catch $e2
          drop
          rethrow 1
        end
        i32.const -2
      catch_all
        rethrow 0
      end
    catch $e1
      i32.const 1000
      i32.add
    catch $e0
      i32.const 500
    end)
  ;; Every exception leaves to the host as it came (same tag and payload, same JS object).
  (func (export "rethrow_all") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw
      i32.const -1
    catch_all
      rethrow 0
    end))
