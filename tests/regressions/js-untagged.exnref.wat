;; Issue 10, item 5. Exception handling, but no `(param i32)`/`(param i64)` tag: there is no
;; Rust panic to recover, so no wrapper calls `wasm_unwind.panic`. With `--js --no-abort-guard`
;; the output imports nothing from `wasm_unwind`; with `--js` only `terminated` (the guard's).
(module
  (tag $oops)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (func (export "throws")
    throw $oops)
  (func (export "caught") (result i32)
    block
      try_table (catch $oops 0)
        throw $oops
      end
    end
    i32.const 1))
