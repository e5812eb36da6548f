;; Issue 19. No name section, no `__stack_pointer`, and nothing says the module is LLVM output (no
;; `producers` section, no wasm-ld symbol): global 0 is not taken "by convention", which is LLVM's.
;; AssemblyScript keeps its allocator's root there, and restoring that after an exception would
;; corrupt its heap. Wrapped without a stack-pointer restore, with a warning: `bump(1)` moves the
;; root and throws, and the root stays where the code left it, as unprocessed. With a `producers`
;; section saying rustc (tests/regressions.rs adds one), global 0 is restored.
(module
  (tag (param i32))
  (global (export "alloc_root") (mut i32) (i32.const 0))
  (func (export "bump") (param i32)
    global.get 0
    i32.const 1
    i32.add
    global.set 0
    local.get 0
    if
      i32.const 8
      throw 0
    end)
  (func (export "caught") (result i32)
    block (result i32)
      try_table (catch 0 0)
        i32.const 1
        throw 0
      end
      i32.const 0
    end))
