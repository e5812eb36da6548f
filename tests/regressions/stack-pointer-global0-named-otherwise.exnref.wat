;; Issue 10, item 2. No global is named `__stack_pointer`, and the name section names global 0
;; `counter`: the names say there is no stack pointer, so global 0 is not taken "by convention"
;; (that convention is for modules whose names were stripped). The module is wrapped without a
;; stack-pointer restore, with a warning; `bump(1)` keeps its count when it throws.
(module
  (tag $t (param i32))
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (func (export "bump") (param i32)
    global.get $counter
    i32.const 1
    i32.add
    global.set $counter
    local.get 0
    if
      i32.const 8
      throw $t
    end)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $t 0)
        i32.const 1
        throw $t
      end
      i32.const 0
    end))
