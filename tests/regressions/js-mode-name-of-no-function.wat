;; Found by the fixed-seed robustness run (a bit flip in a generated module's name section).
;;
;; The name section names function 125, which does not exist. Engines ignore such an entry, and
;; so does the tool by default. In JS mode the tool adds imports, which moves every function up,
;; so it renumbers the names: `FunctionMap::function` (src/encode.rs) then indexes its list of
;; added functions with 125 and panics ("index out of bounds"). The local-names and label-names
;; subsections take the same path with an out-of-range function index.
;;
;; Expected: `--js` writes a valid module (dropping or keeping the stray name) or refuses in one
;; line; never a panic. Fixed: the encoder drops a name of a function the input does not have.
(module
  (func (export "f"))
  ;; Function names: one entry, function 125 (0x7d), "x".
  (@custom "name" "\01\04\01\7d\01x"))
