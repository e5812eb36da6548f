;; Issue 19. wasm-bindgen's `--target nodejs` output (some versions) keeps `__wbindgen_placeholder__`
;; as the module of its real JS imports after the CLI has run; a real 17 MB package built that way
;; got "0 import call targets guarded", so a JS getter that throws and calls back in left the
;; instance refusing every later call. What the CLI removes, its describe functions (none here),
;; tells a module after the CLI from one before it: these imports are shimmed like any other.
(module
  (import "__wbindgen_placeholder__" "__wbg_get_4f8c2d1e3a5b6c7d" (func $get (param i32) (result i32)))
  (import "__wbindgen_placeholder__" "__wbg_log_0a1b2c3d4e5f6071" (func $log (param i32)))
  (import "__wbindgen_placeholder__" "__wbindgen_throw" (func $throw (param i32 i32)))
  (memory (export "memory") 17)
  (global $__stack_pointer (mut i32) (i32.const 1048576))
  (tag $__cpp_exception (param i32))
  (func (export "options") (param i32) (result i32)
    (call $log (local.get 0))
    (call $get (local.get 0)))
  (func (export "fail") (param i32 i32)
    (call $throw (local.get 0) (local.get 1)))
  (func (export "__wbindgen_malloc") (param i32) (result i32)
    (local.get 0))
  (func (export "caught") (result i32)
    (block (result i32)
      (try_table (catch $__cpp_exception 0)
        (throw $__cpp_exception (i32.const 1)))
      (i32.const 0))))
