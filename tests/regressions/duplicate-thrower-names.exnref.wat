;; Issue 10, item 4. Two functions are named `_Unwind_RaiseException` (written by hand: WAT
;; identifiers must be unique) and each throws its own `(param i32)` tag. Which tag became the
;; unwind tag used to depend on hash-map iteration order; then the run stopped with one line
;; naming both tags and asking for --tag; since issue 19 it takes neither (wrappers catch every
;; exception without a tag) and says so in one note naming both and --tag.
(module
  (tag (param i32))
  (tag (param i32))
  (global (mut i32) (i32.const 1024))
  (func (export "raise0") (param i32)
    local.get 0
    throw 0)
  (func (export "raise1") (param i32)
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
  (@custom "name" "\01\31\02\00\16_Unwind_RaiseException\01\16_Unwind_RaiseException"))
