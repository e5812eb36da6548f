;; Found by the robustness run (seeds 4 and 5, 5000 cases: bit flips in a generated module's name
;; section); open.
;;
;; The name section names function 125, which does not exist. Engines ignore such an entry. The
;; tool, looking for Rust's panic entry point by name to find the unwind tag
;; (`detect::unwind_tag`), asks for the body of every named function (`Module::body`) before it
;; looks at the name, and indexes past the end of the bodies: a panic ("index out of bounds"), in
;; every mode, for any module with exception handling and such a name.
;;
;; Expected: processed as if the stray name were not there (or refused in one line); never a
;; panic.
(module
  (tag (param i32))
  (func (export "caught") (result i32)
    (block (result i32)
      (try_table (catch 0 0)
        (throw 0 (i32.const 1)))
      (i32.const 0)))
  ;; Function names: one entry, function 125 (0x7d), "x".
  (@custom "name" "\01\04\01\7d\01x"))
