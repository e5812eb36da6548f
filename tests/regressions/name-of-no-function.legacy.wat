;; The legacy-encoding twin of `name-of-no-function.exnref.wat` (found by the robustness run):
;; a name for function 125, which does not exist, makes `detect::unwind_tag` index past the end of
;; the bodies and panic. Expected: processed as if the stray name were not there, never a panic.
(module
  (tag (param i32))
  (func (export "caught") (result i32)
    try (result i32)
      i32.const 1
      throw 0
    catch 0
      drop
      i32.const 0
    end)
  ;; Function names: one entry, function 125 (0x7d), "x".
  (@custom "name" "\01\04\01\7d\01x"))
