;; Issue 10, item 4. The name section names both `(param i32)` tags `__cpp_exception` (written
;; by hand: WAT identifiers must be unique), and both are thrown. Which one became the unwind
;; tag used to depend on hash-map iteration order; then the run stopped with one line naming both
;; and asking for --tag; since issue 19 it takes neither (wrappers catch every exception without a
;; tag) and says so in one note naming both and --tag.
(module
  (tag (param i32))
  (tag (param i32))
  (global (mut i32) (i32.const 1024))
  (func (export "throws0") (param i32)
    local.get 0
    throw 0)
  (func (export "throws1") (param i32)
    local.get 0
    throw 1)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch 0 0)
        i32.const 1
        throw 0
      end
      i32.const 0
    end)
  (@custom "name" "\0b\23\02\00\0f__cpp_exception\01\0f__cpp_exception"))
