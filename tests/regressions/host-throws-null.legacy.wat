;; Issue 10, item 5. The host import throws `null` (or `undefined`) through Rust frames. Node 20
;; (V8 11.3, legacy EH) cannot carry a null exception across any `try`: a non-matching `catch`,
;; a `catch_all` + `rethrow`, even `delegate` turn it into `RuntimeError: rethrowing null value`,
;; a trap (no Wasm handler sees it). Only frames with no `try` pass it. A wrapper must have a
;; `try`, so a processed module cannot pass a host's `null` on that engine; `undefined` and every
;; other value pass unchanged. Node 22+ and every exnref engine pass `null` unchanged.
;; tests/regressions.rs pins all of this; the README says it.
(module
  (import "env" "host" (func $host))
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func $work (result i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    global.set $__stack_pointer
    call $host
    global.get $__stack_pointer
    i32.const 16
    i32.add
    global.set $__stack_pointer
    i32.const 1)
  (func (export "call_host") (result i32)
    call $work)
  (func (export "ok") (result i32)
    i32.const 2)
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw $__cpp_exception
    catch $__cpp_exception
    end))
