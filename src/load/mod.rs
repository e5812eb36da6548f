//! Load: validate the input and index what the later stages need.
//!
//! Nothing is rebuilt here. The encoder splices the original section bytes into the output, so
//! the index records where each section and function body sits, plus the few facts the pass needs
//! (signatures, globals, tags, exports, names, and what each body calls and throws): `index`
//! validates and records the sections, `scan` each body in the same read that validates it,
//! which keeps load close to a bare validation.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{
    BinaryReader, ExternalKind, FuncType, FunctionBody, GlobalType, Operator, Parser, Payload,
    WasmFeatures,
};

pub mod globals;
mod index;
mod scan;

pub use scan::function_uses;

use crate::error::{Error, Result};
use crate::validate;

/// A section of the input: its id and the byte range of its payload.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub id: u8,
    pub range: Range<usize>,
    /// For custom sections (id 0), the name; `range` then covers only the data after the name.
    pub custom_name: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Import<'a> {
    pub module: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Clone)]
pub struct Global<'a> {
    pub ty: GlobalType,
    pub import: Option<Import<'a>>,
}

#[derive(Debug, Clone)]
pub struct Tag<'a> {
    pub params: Vec<wasmparser::ValType>,
    pub import: Option<Import<'a>>,
}

#[derive(Debug, Clone)]
pub struct Export<'a> {
    pub name: &'a str,
    pub kind: ExternalKind,
    pub index: u32,
}

/// A place where the input names a function by index, with where that index's bytes are so
/// the encoder can repoint or renumber it. Kept to 16 bytes: a module has one for every call.
#[derive(Debug, Clone)]
pub struct FunctionUse {
    pub function: u32,
    pub kind: UseKind,
    /// The width of the function's LEB128 index (at most 5 bytes).
    width: u8,
    /// The offset into the module of the index.
    at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    /// `call` or `return_call` in code.
    Call,
    /// `ref.func` in code or in a constant expression (global or table initialiser, element
    /// expression): the function's address is taken.
    RefFunc,
    /// An entry of an element segment's function-index list.
    Element,
    /// The start section.
    Start,
}

impl FunctionUse {
    /// A use of `function` whose LEB128 index occupies `index_bytes` of the module.
    pub fn new(function: u32, index_bytes: Range<usize>, kind: UseKind) -> FunctionUse {
        FunctionUse {
            function,
            kind,
            width: index_bytes.len() as u8,
            at: index_bytes.start,
        }
    }

    /// Offsets into the module of the function's LEB128 index.
    pub fn index_bytes(&self) -> Range<usize> {
        self.at..self.at + usize::from(self.width)
    }

    /// Whether the function's address is taken here (it may then be called through a table or
    /// a reference), rather than called directly.
    pub fn takes_address(&self) -> bool {
        matches!(self.kind, UseKind::RefFunc | UseKind::Element)
    }
}

/// What one function body does that the pass and `inspect` care about.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The body's bytes in the input (locals and code, without the size prefix).
    pub range: Range<usize>,
    /// Direct calls (`call`, `return_call`) and function references taken (`ref.func`).
    pub uses: Vec<FunctionUse>,
    /// Calls through a table or reference: the callee is unknown statically.
    pub calls_indirectly: bool,
    /// `call_indirect` and `return_call_indirect` instructions, which the guard may redirect.
    pub indirect_calls: Vec<IndirectCall>,
    /// Tags thrown with `throw`.
    pub throws: Vec<u32>,
    /// Rethrows a caught exception (`throw_ref`, `rethrow`).
    pub rethrows: bool,
    /// Contains `unreachable`, the instruction Rust's aborts compile to.
    pub has_unreachable: bool,
    /// Tables the body changes (`table.set`, `grow`, `fill`, `init`, the target of `copy`),
    /// with the first instruction that does.
    pub table_writes: Vec<(u32, &'static str)>,
    /// Opens with LLVM's stack-frame prologue on global 0 (see [`scan::FramePrologue`]).
    pub llvm_frame: bool,
    /// The exception-handling instructions it uses.
    pub eh: EhUse,
}

/// A `call_indirect` (or `return_call_indirect`) in code: the whole instruction's bytes, so the
/// encoder can replace it with a call of the same stack effect.
#[derive(Debug, Clone)]
pub struct IndirectCall {
    pub table: u32,
    pub type_index: u32,
    pub tail: bool,
    pub bytes: Range<usize>,
}

/// A table of the input, imported or defined.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    pub ty: wasmparser::TableType,
    pub import: Option<Import<'a>>,
    /// Declared with an initialiser expression, which fills every slot.
    pub initialised: bool,
}

/// An active element segment: what instantiation writes into a table.
#[derive(Debug, Clone)]
pub struct ActiveSegment {
    pub table: u32,
    /// The offset, when the expression is a constant.
    pub constant_offset: Option<u64>,
    /// The function of each slot it writes (`None`: a null reference). `None` as a whole when
    /// an item is an expression other than `ref.func` or `ref.null`.
    pub items: Option<Vec<Option<u32>>>,
    /// Its entries among `Module::uses_outside_code`, one per function it names.
    pub uses: Range<usize>,
}

/// Which exception-handling instructions appear in the code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EhUse {
    /// `try_table` or `throw_ref`: the standard (exnref) encoding.
    pub exnref: bool,
    /// `try`, `catch`, `catch_all`, `rethrow` or `delegate`: the legacy encoding.
    pub legacy: bool,
    /// `throw`, valid in either encoding.
    pub throw: bool,
}

impl EhUse {
    /// What the code uses, given what two parts of it use.
    fn merge(&mut self, other: EhUse) {
        self.exnref |= other.exnref;
        self.legacy |= other.legacy;
        self.throw |= other.throw;
    }
}

/// Names from the `name` custom section, by index.
#[derive(Debug, Clone, Default)]
pub struct Names<'a> {
    pub present: bool,
    /// The name section names a function the module does not have (engines ignore such an
    /// entry; the maps here leave it out).
    pub stray_function: bool,
    pub functions: HashMap<u32, &'a str>,
    pub globals: HashMap<u32, &'a str>,
    pub tags: HashMap<u32, &'a str>,
}

/// The validated input, indexed.
#[derive(Debug)]
pub struct Module<'a> {
    pub bytes: &'a [u8],
    pub sections: Vec<Section<'a>>,
    /// Function signatures by type index (`None` for struct and array types).
    pub types: Vec<Option<FuncType>>,
    /// Type index of every function, imported ones first.
    pub function_types: Vec<u32>,
    /// Imports of functions, in function index order.
    pub function_imports: Vec<Import<'a>>,
    pub globals: Vec<Global<'a>>,
    pub tags: Vec<Tag<'a>>,
    /// Imported tables first.
    pub tables: Vec<Table<'a>>,
    pub active_segments: Vec<ActiveSegment>,
    pub exports: Vec<Export<'a>>,
    /// Bodies of the defined functions, in order.
    pub bodies: Vec<Body>,
    pub eh: EhUse,
    /// Functions named outside code: element segments (any indirect call may reach them),
    /// `ref.func` in global and table initialisers, the start function. Each with where its
    /// index sits, so that it can be repointed like a call.
    pub uses_outside_code: Vec<FunctionUse>,
    pub names: Names<'a>,
    /// The text of our marker section, when the input was produced by wasm-unwind.
    pub marker: Option<&'a str>,
    /// Memory 0 exists and takes 32-bit addresses.
    pub memory32: bool,
    /// Memory 0 is shared (threads) or imported (another module may use it too): other
    /// instances may run over it.
    pub memory_shared: bool,
    pub memory_imported: bool,
}

impl<'a> Module<'a> {
    pub fn imported_functions(&self) -> u32 {
        self.function_imports.len() as u32
    }

    pub fn imported_globals(&self) -> u32 {
        self.globals.iter().filter(|g| g.import.is_some()).count() as u32
    }

    pub fn function_count(&self) -> u32 {
        self.function_types.len() as u32
    }

    /// The signature of function `index`.
    pub fn function_type(&self, index: u32) -> &FuncType {
        let ty = self.function_types[index as usize];
        self.types[ty as usize]
            .as_ref()
            .expect("validated: functions have function types")
    }

    /// The instructions of defined function `index`; `None` for an import or unreadable code.
    pub fn operators(&self, index: u32) -> Option<Vec<Operator<'a>>> {
        let body = self.body(index)?;
        let reader = BinaryReader::new(&self.bytes[body.range.clone()], body.range.start);
        let reader = FunctionBody::new(reader).get_operators_reader().ok()?;
        reader.into_iter().collect::<Result<_, _>>().ok()
    }

    /// The body of function `index`, or `None` for an imported function.
    pub fn body(&self, index: u32) -> Option<&Body> {
        index
            .checked_sub(self.imported_functions())
            .map(|i| &self.bodies[i as usize])
    }

    /// Drops names of functions, globals and tags the module does not have: engines ignore
    /// such entries, and detection must not look them up.
    fn forget_stray_names(&mut self) {
        let (functions, globals, tags) = (
            self.function_count(),
            self.globals.len() as u32,
            self.tags.len() as u32,
        );
        let named = self.names.functions.len();
        self.names.functions.retain(|&f, _| f < functions);
        self.names.stray_function = self.names.functions.len() < named;
        self.names.globals.retain(|&g, _| g < globals);
        self.names.tags.retain(|&t, _| t < tags);
    }

    pub fn section(&self, id: u8) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.id == id)
    }
}

/// Turns what the user handed us into module bytes: binary as is, text through `wat`.
pub fn read_input(input: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    if input.starts_with(b"\0asm") {
        return Ok(input.into());
    }
    let text = std::str::from_utf8(input).map_err(|_| Error::NotWasm)?;
    let first = text.trim_start().chars().next();
    if !matches!(first, Some('(') | Some(';')) {
        return Err(Error::NotWasm);
    }
    let wasm = wat::parse_str(text).map_err(|e| Error::Text(one_line(&e.to_string())))?;
    Ok(wasm.into())
}

/// `wat` words an error on several lines: the problem, `--> <anon>:LINE:COLUMN`, then the source
/// line with a caret. Keep the problem and where it is, on one line.
fn one_line(message: &str) -> String {
    let mut lines = message.lines();
    let problem = lines.next().unwrap_or_default();
    let place = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("--> "))
        .and_then(|at| {
            let mut parts = at.rsplitn(3, ':');
            Some((parts.next()?, parts.next()?))
        });
    match place {
        Some((column, line)) => format!("{problem} (line {line}, column {column})"),
        None => problem.to_string(),
    }
}

/// Validates `bytes` and builds the index.
pub fn load(bytes: &[u8]) -> Result<Module<'_>> {
    use index::{LoadError, index};
    match index(bytes, validate::supported_features()) {
        Ok(module) => Ok(module),
        Err(LoadError::Component) => Err(Error::Component),
        Err(LoadError::Binary(err)) => {
            let message = format!("{} (at offset {:#x})", err.message(), err.offset());
            if truncated(bytes) {
                return Err(Error::Truncated(message));
            }
            // Valid with every proposal turned on means it is a feature we chose not to handle.
            if index(bytes, WasmFeatures::all()).is_ok() {
                return Err(Error::Unsupported(err.message().to_string()));
            }
            Err(Error::Invalid(message))
        }
    }
}

/// Whether `bytes` is the start of a module cut short: the parser, reading section by section
/// as if more input could follow, asks for more bytes at a point where the real end of input
/// is an error. A module that is complete but wrong in itself is not truncated.
fn truncated(bytes: &[u8]) -> bool {
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    loop {
        let mut at_end = parser.clone();
        match parser.parse(rest, false) {
            Ok(wasmparser::Chunk::Parsed { consumed, payload }) => {
                if let Payload::End(_) = payload {
                    return false;
                }
                if let Payload::CodeSectionStart { size, .. } = payload {
                    // Bodies come one by one; the section must at least be all there.
                    if (rest.len() - consumed) < size as usize {
                        return true;
                    }
                }
                rest = &rest[consumed..];
            }
            Ok(wasmparser::Chunk::NeedMoreData(_)) => {
                return at_end.parse(rest, true).is_err();
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` with bodies validated on `threads` threads.
    fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(f)
    }

    #[test]
    fn the_first_invalid_body_in_module_order_is_reported_whatever_the_threads() {
        // Many bodies, so that the two bad ones land on different threads; each fails in its
        // own way.
        let mut wat = String::from("(module\n");
        for i in 0..200 {
            wat.push_str(match i {
                60 => "(func (result i32))\n",
                170 => "(func i32.const 1)\n",
                _ => "(func (param i32) (result i32) local.get 0 i32.const 1 i32.add)\n",
            });
        }
        wat.push(')');
        let bytes = wat::parse_str(&wat).unwrap();
        // The reference: wasmparser validating one body after the other.
        let first = wasmparser::Validator::new_with_features(validate::supported_features())
            .validate_all(&bytes)
            .err()
            .expect("the module is invalid");
        let expected = format!("{} (at offset {:#x})", first.message(), first.offset());
        for threads in [1, 2, 4] {
            match on_threads(threads, || load(&bytes)) {
                Err(Error::Invalid(message)) => assert_eq!(message, expected, "{threads} threads"),
                other => panic!("{threads} threads: {other:?}"),
            }
        }
    }

    #[test]
    fn every_fixture_processes_to_the_same_bytes_whatever_the_threads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
        let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        fixtures.sort();
        let mut processed = 0;
        for path in fixtures {
            let input = std::fs::read(&path).unwrap();
            let run = |threads| {
                on_threads(threads, || {
                    crate::process(&input, &crate::Options::default()).map(|p| p.wasm)
                })
            };
            let run = |threads| run(threads).map_err(|e| e.to_string());
            let one = run(1);
            assert!(run(2) == one, "{}", path.display());
            processed += usize::from(one.is_ok());
        }
        assert!(processed > 0, "no fixture processed");
    }
}
