;; Issue 10, item 4. The name section names both globals `__stack_pointer` (written by hand:
;; WAT identifiers must be unique). Which one the tool took used to depend on hash-map
;; iteration order, so two runs could give different bytes. A name that identifies two globals
;; settles nothing: the run stops with one line naming both and asking for --stack-pointer.
(module
  (tag (param i32))
  (global (mut i32) (i32.const 1024))
  (global (mut i32) (i32.const 2048))
  (func (export "throws") (param i32)
    global.get 1
    i32.const 16
    i32.sub
    global.set 1
    local.get 0
    throw 0)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch 0 0)
        i32.const 1
        throw 0
      end
      i32.const 0
    end)
  (@custom "name" "\07\23\02\00\0f__stack_pointer\01\0f__stack_pointer"))
