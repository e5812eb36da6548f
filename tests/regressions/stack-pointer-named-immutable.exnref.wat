;; Issue 10, item 2. Global 0 is an ordinary counter; the global named `__stack_pointer` is
;; immutable, so it cannot be the shadow stack pointer. The tool used to fall back to global 0
;; "by convention", and every escaping throw then reset the counter: `bump(1)` throws after
;; counting, and the wrapper "restored" the count. A name that identifies a global wins or fails.
(module
  (tag $t (param i32))
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (global $__stack_pointer i32 (i32.const 65536))
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
  ;; Catches its own throw, so the module shows its encoding.
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $t 0)
        i32.const 1
        throw $t
      end
      i32.const 0
    end))
