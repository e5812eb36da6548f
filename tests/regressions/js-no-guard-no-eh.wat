;; Issue 10, item 5. `--js --no-abort-guard` on a module without exception handling: nothing is
;; wrapped (nothing to contain, no guard), so nothing calls the `wasm_unwind` host functions.
;; The output used to import both anyway; it imports only what it calls, here nothing.
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
