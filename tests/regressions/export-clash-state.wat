;; Issue 10, item 3. The input already exports `__wasm_unwind_state`, a name the abort guard
;; adds. It used to end in "internal error ... please report" (duplicate export names); now the
;; run stops with one line naming the clash and what to do.
(module
  (func (export "__wasm_unwind_state") (result i32)
    i32.const 7)
  (func (export "work") (result i32)
    i32.const 1))
