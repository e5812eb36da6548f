//! Load: validate the input and index what the later stages need.
//!
//! Nothing is rebuilt here. The encoder splices the original section bytes into the output, so
//! the index records where each section and function body sits, plus the few facts the pass needs
//! (signatures, globals, tags, exports, names, and what each body calls and throws). Validation
//! and indexing share one decode of every operator, which keeps load close to a bare validation.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::types::CoreTypeId;
use wasmparser::{
    BinaryReader, CompositeInnerType, Encoding, ExternalKind, FuncType, FunctionBody, GlobalType,
    HeapType, Name, NameSectionReader, Operator, Parser, Payload, RefType, TypeRef, UnpackedIndex,
    ValType, ValidPayload, Validator, WasmFeatures,
};

mod scan;

pub use scan::function_uses;

use crate::abi::MARKER_SECTION;
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

enum LoadError {
    Component,
    Binary(wasmparser::BinaryReaderError),
}

impl From<wasmparser::BinaryReaderError> for LoadError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        LoadError::Binary(err)
    }
}

fn index(bytes: &[u8], features: WasmFeatures) -> Result<Module<'_>, LoadError> {
    let mut validator = Validator::new_with_features(features);
    let mut index = Indexer {
        module: Module {
            bytes,
            sections: Vec::new(),
            types: Vec::new(),
            function_types: Vec::new(),
            function_imports: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            tables: Vec::new(),
            active_segments: Vec::new(),
            exports: Vec::new(),
            bodies: Vec::new(),
            eh: EhUse::default(),
            uses_outside_code: Vec::new(),
            names: Names::default(),
            marker: None,
            memory32: false,
            memory_shared: false,
            memory_imported: false,
        },
        global_imports: Vec::new(),
        tag_imports: Vec::new(),
    };
    let mut bodies = Vec::new();
    let rest = index.sections(bytes, &mut validator, &mut bodies);
    // Every body collected comes before whatever stopped the sections, so its error comes first,
    // as in a single pass.
    index.module.bodies = validate::bodies(bodies, scan::scan_body)?;
    rest?;
    for body in &index.module.bodies {
        index.module.eh.merge(body.eh);
    }
    index.module.forget_stray_names();
    Ok(index.module)
}

/// The module being indexed, and what must wait for the validator's types.
struct Indexer<'a> {
    module: Module<'a>,
    // Global and tag types arrive with their sections; imported ones are filled in from the
    // validator's types at the end, so remember the import names until then.
    global_imports: Vec<Import<'a>>,
    tag_imports: Vec<Import<'a>>,
}

impl<'a> Indexer<'a> {
    /// Validates and indexes everything but the bodies, which go to `bodies` (in order) for
    /// `scan_body` to validate and index in parallel.
    fn sections(
        &mut self,
        bytes: &'a [u8],
        validator: &mut Validator,
        bodies: &mut Vec<validate::Pending<'a>>,
    ) -> Result<(), LoadError> {
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload?;
            if let Payload::Version {
                encoding: Encoding::Component,
                ..
            } = payload
            {
                return Err(LoadError::Component);
            }
            let valid = validator.payload(&payload)?;
            self.section(&payload);
            self.record(payload)?;
            match valid {
                ValidPayload::Func(to_validate, body) => bodies.push((to_validate, body)),
                ValidPayload::End(types) => self.finish(types.as_ref()),
                ValidPayload::Ok | ValidPayload::Parser(_) => {}
            }
        }
        Ok(())
    }

    /// Where the payload's section is, if it is one.
    fn section(&mut self, payload: &Payload<'a>) {
        if let Some((id, range)) = payload.as_section() {
            let (range, custom_name) = match payload {
                Payload::CustomSection(c) => (c.data_offset()..c.range().end, Some(c.name())),
                _ => (range, None),
            };
            self.module.sections.push(Section {
                id,
                range,
                custom_name,
            });
        }
    }

    /// The facts of one payload (bodies aside, which `scan_body` reads while validating).
    fn record(&mut self, payload: Payload<'a>) -> Result<(), wasmparser::BinaryReaderError> {
        let module = &mut self.module;
        let uses = &mut module.uses_outside_code;
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    self.import(import?);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.function_types.push(ty?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let wasmparser::Export { name, kind, index } = export?;
                    module.exports.push(Export { name, kind, index });
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    self.element(element?)?;
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    read_ref_funcs(global?.init_expr, uses)?;
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    self.table(table?)?;
                }
            }
            Payload::StartSection { func, range } => {
                uses.push(FunctionUse::new(func, range, UseKind::Start))
            }
            Payload::CustomSection(reader) => match reader.name() {
                "name" => module.names = read_names(reader.data(), reader.data_offset()),
                MARKER_SECTION => module.marker = std::str::from_utf8(reader.data()).ok(),
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// An element segment: the slots it fills when active, and every function it names.
    fn element(
        &mut self,
        element: wasmparser::Element<'a>,
    ) -> Result<(), wasmparser::BinaryReaderError> {
        let module = &mut self.module;
        let first = module.uses_outside_code.len();
        let items = element.items.clone();
        read_element_functions(module.bytes, items, &mut module.uses_outside_code)?;
        let uses = first..module.uses_outside_code.len();
        if let Some(segment) = read_active_segment(&element, uses)? {
            module.active_segments.push(segment);
        }
        Ok(())
    }

    /// A defined table, and the functions its initialiser names.
    fn table(&mut self, table: wasmparser::Table<'a>) -> Result<(), wasmparser::BinaryReaderError> {
        let initialised = matches!(table.init, wasmparser::TableInit::Expr(_));
        if let wasmparser::TableInit::Expr(init) = table.init {
            read_ref_funcs(init, &mut self.module.uses_outside_code)?;
        }
        self.module.tables.push(Table {
            ty: table.ty,
            import: None,
            initialised,
        });
        Ok(())
    }

    fn import(&mut self, import: wasmparser::Import<'a>) {
        let named = Import {
            module: import.module,
            name: import.name,
        };
        match import.ty {
            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                self.module.function_types.push(ty);
                self.module.function_imports.push(named);
            }
            TypeRef::Global(_) => self.global_imports.push(named),
            TypeRef::Tag(_) => self.tag_imports.push(named),
            TypeRef::Table(ty) => self.module.tables.push(Table {
                ty,
                import: Some(named),
                initialised: false,
            }),
            TypeRef::Memory(_) => self.module.memory_imported = true,
        }
    }

    /// Signatures, globals, tags and memory from the validator's view of the whole module.
    fn finish(&mut self, types: wasmparser::types::TypesRef<'_>) {
        let module = &mut self.module;
        let count = types.core_type_count_in_module();
        // The validator names the types a signature refers to by canonical id; what the tool
        // encodes names them by index. Equal ids are equal types, so the first index serves.
        let mut indices = HashMap::new();
        for i in (0..count).rev() {
            indices.insert(types.core_type_at_in_module(i), i);
        }
        module.types = (0..count)
            .map(
                |i| match &types[types.core_type_at_in_module(i)].composite_type.inner {
                    CompositeInnerType::Func(f) => Some(by_index(f, &indices)),
                    _ => None,
                },
            )
            .collect();
        let mut global_imports = self.global_imports.drain(..).map(Some);
        module.globals = (0..types.global_count())
            .map(|i| Global {
                ty: types.global_at(i),
                import: global_imports.next().flatten(),
            })
            .collect();
        module.memory32 = types.memory_count() > 0 && !types.memory_at(0).memory64;
        module.memory_shared = types.memory_count() > 0 && types.memory_at(0).shared;
        let mut tag_imports = self.tag_imports.drain(..).map(Some);
        module.tags = (0..types.tag_count())
            .map(|i| Tag {
                params: types[types.tag_at(i)].unwrap_func().params().to_vec(),
                import: tag_imports.next().flatten(),
            })
            .collect();
    }
}

fn read_element_functions(
    bytes: &[u8],
    items: wasmparser::ElementItems<'_>,
    into: &mut Vec<FunctionUse>,
) -> Result<(), wasmparser::BinaryReaderError> {
    match items {
        wasmparser::ElementItems::Functions(indices) => {
            for entry in indices.into_iter_with_offsets() {
                let (at, callee) = entry?;
                // A LEB128 ends at the first byte without the continuation bit.
                let width = bytes[at..]
                    .iter()
                    .position(|b| b & 0x80 == 0)
                    .map_or(1, |p| p + 1);
                into.push(FunctionUse::new(callee, at..at + width, UseKind::Element));
            }
        }
        wasmparser::ElementItems::Expressions(_, exprs) => {
            for expr in exprs {
                read_ref_funcs(expr?, into)?;
            }
        }
    }
    Ok(())
}

/// The table, offset and slots of an active element segment; `None` for other segments.
fn read_active_segment(
    element: &wasmparser::Element<'_>,
    uses: Range<usize>,
) -> Result<Option<ActiveSegment>, wasmparser::BinaryReaderError> {
    let wasmparser::ElementKind::Active {
        table_index,
        offset_expr,
    } = &element.kind
    else {
        return Ok(None);
    };
    let operators: Vec<Operator<'_>> = offset_expr
        .get_operators_reader()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let constant_offset = match operators[..] {
        [Operator::I32Const { value }, Operator::End] => Some(u64::from(value as u32)),
        [Operator::I64Const { value }, Operator::End] => Some(value as u64),
        _ => None,
    };
    let items = match element.items.clone() {
        wasmparser::ElementItems::Functions(indices) => Some(
            indices
                .into_iter()
                .map(|f| f.map(Some))
                .collect::<Result<_, _>>()?,
        ),
        wasmparser::ElementItems::Expressions(_, exprs) => exprs
            .into_iter()
            .map(|expr| {
                let ops: Vec<Operator<'_>> = expr?
                    .get_operators_reader()
                    .into_iter()
                    .collect::<Result<_, _>>()?;
                Ok(match ops[..] {
                    [Operator::RefFunc { function_index }, Operator::End] => {
                        Some(Some(function_index))
                    }
                    [Operator::RefNull { .. }, Operator::End] => Some(None),
                    _ => None,
                })
            })
            .collect::<Result<Option<Vec<_>>, wasmparser::BinaryReaderError>>()?,
    };
    Ok(Some(ActiveSegment {
        table: table_index.unwrap_or(0),
        constant_offset,
        items,
        uses,
    }))
}

/// The `ref.func`s of a constant expression.
fn read_ref_funcs(
    expr: wasmparser::ConstExpr<'_>,
    into: &mut Vec<FunctionUse>,
) -> Result<(), wasmparser::BinaryReaderError> {
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let (op, at) = ops.read_with_offset()?;
        if let Operator::RefFunc { function_index } = op {
            let index_bytes = at + 1..ops.original_position();
            into.push(FunctionUse::new(
                function_index,
                index_bytes,
                UseKind::RefFunc,
            ));
        }
    }
    Ok(())
}

/// Reads the function, global and tag names. A malformed name section is ignored, as engines do.
fn read_names(data: &[u8], offset: usize) -> Names<'_> {
    let mut names = Names {
        present: true,
        ..Names::default()
    };
    for subsection in NameSectionReader::new(BinaryReader::new(data, offset)) {
        let (map, into) = match subsection {
            Ok(Name::Function(map)) => (map, &mut names.functions),
            Ok(Name::Global(map)) => (map, &mut names.globals),
            Ok(Name::Tag(map)) => (map, &mut names.tags),
            Ok(_) => continue,
            Err(_) => break,
        };
        into.extend(
            map.into_iter()
                .filter_map(|n| n.ok())
                .map(|n| (n.index, n.name)),
        );
    }
    names
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
        let first = Validator::new_with_features(validate::supported_features())
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

/// `f` with every type it refers to named by its index in the module (`indices`).
fn by_index(f: &FuncType, indices: &HashMap<CoreTypeId, u32>) -> FuncType {
    let map = |&ty: &ValType| {
        let ValType::Ref(r) = ty else { return ty };
        let heap = match r.heap_type() {
            HeapType::Concrete(UnpackedIndex::Id(id)) => {
                HeapType::Concrete(UnpackedIndex::Module(indices[&id]))
            }
            HeapType::Exact(UnpackedIndex::Id(id)) => {
                HeapType::Exact(UnpackedIndex::Module(indices[&id]))
            }
            _ => return ty,
        };
        RefType::new(r.is_nullable(), heap).map_or(ty, ValType::Ref)
    };
    FuncType::new(f.params().iter().map(map), f.results().iter().map(map))
}
