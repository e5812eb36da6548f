;; Issue 10, item 2. Exception handling but no global at all: there is no shadow stack to
;; restore. It used to be refused; it is wrapped without the restore, with a one-line warning,
;; and `inspect` says so. The throw still leaves `throws` as the same exception, the guard still
;; ends the instance after the trap in `traps`.
(module
  (tag $t (param i32))
  (func (export "throws") (param i32) (result i32)
    local.get 0
    if
      i32.const 8
      throw $t
    end
    local.get 0
    i32.const 1
    i32.add)
  (func (export "traps")
    unreachable)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch $t 0)
        i32.const 1
        throw $t
      end
      i32.const 0
    end))
