//! Load: validate the input and index what the later stages need.
//!
//! Nothing is rebuilt here. The encoder splices the original section bytes into the output, so
//! the index records where each section and function body sits, plus the few facts the pass needs
//! (signatures, globals, tags, exports, names, and what each body calls and throws). Validation
//! and indexing share one decode of every operator, which keeps load close to a bare validation.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{
    BinaryReader, CompositeInnerType, Encoding, ExternalKind, FuncType, FunctionBody, GlobalType,
    Name, NameSectionReader, Operator, Parser, Payload, TypeRef, ValidPayload, Validator,
    WasmFeatures,
};

use crate::error::{Error, Result};

/// The custom section that marks a module as already processed; its text records the options.
pub const MARKER_SECTION: &str = "wasm-unwind";

/// Proposals a Rust (or C/C++) wasm build may use and that the pass handles. Stack switching,
/// shared-everything threads and the like are left out: a wrapper cannot promise anything about
/// a call that suspends through it.
fn supported_features() -> WasmFeatures {
    (WasmFeatures::WASM3
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::GC_TYPES
        | WasmFeatures::CALL_INDIRECT_OVERLONG
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::CUSTOM_PAGE_SIZES)
        - WasmFeatures::COMPONENT_MODEL
}

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

/// A direct call inside a body, with the byte range of the callee's index so it can be repointed.
#[derive(Debug, Clone)]
pub struct Call {
    pub callee: u32,
    /// Offsets into the module of the callee's LEB128 index.
    pub index_bytes: Range<usize>,
    /// `ref.func`: the function's address is taken rather than called here.
    pub reference: bool,
}

/// What one function body does that the pass and `inspect` care about.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The body's bytes in the input (locals and code, without the size prefix).
    pub range: Range<usize>,
    /// Direct calls (`call`, `return_call`) and function references taken (`ref.func`).
    pub calls: Vec<Call>,
    /// Calls through a table or reference: the callee is unknown statically.
    pub calls_indirectly: bool,
    /// Tags thrown with `throw`.
    pub throws: Vec<u32>,
    /// Rethrows a caught exception (`throw_ref`, `rethrow`).
    pub rethrows: bool,
    /// Contains `unreachable`, the instruction Rust's aborts compile to.
    pub has_unreachable: bool,
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

/// Names from the `name` custom section, by index.
#[derive(Debug, Clone, Default)]
pub struct Names<'a> {
    pub present: bool,
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
    pub exports: Vec<Export<'a>>,
    /// Bodies of the defined functions, in order.
    pub bodies: Vec<Body>,
    pub eh: EhUse,
    /// Functions referenced outside code, by element segments (any indirect call may reach
    /// them) and by `ref.func` in global initialisers, with where each index sits so that it
    /// can be repointed like a call.
    pub function_references: Vec<Call>,
    pub names: Names<'a>,
    /// The text of our marker section, when the input was produced by wasm-unwind.
    pub marker: Option<&'a str>,
    /// Memory 0 exists and takes 32-bit addresses.
    pub memory32: bool,
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

    /// The body of function `index`, or `None` for an imported function.
    pub fn body(&self, index: u32) -> Option<&Body> {
        index
            .checked_sub(self.imported_functions())
            .map(|i| &self.bodies[i as usize])
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
    match index(bytes, supported_features()) {
        Ok(module) => Ok(module),
        Err(LoadError::Component) => Err(Error::Component),
        Err(LoadError::Binary(err)) => {
            let message = format!("{} (at offset {:#x})", err.message(), err.offset());
            if err.message().contains("unexpected end") {
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

/// Validates a module this tool wrote. Bodies for which `unchanged` holds are skipped: they are
/// the input's bytes, already validated in `load`, and every index and type they use kept its
/// meaning, since the encoder only appends. Everything else is validated in full.
pub fn validate_output(
    bytes: &[u8],
    unchanged: impl Fn(u32) -> bool,
) -> Result<(), wasmparser::BinaryReaderError> {
    let mut validator = Validator::new_with_features(supported_features());
    let mut allocations = Default::default();
    for payload in Parser::new(0).parse_all(bytes) {
        if let ValidPayload::Func(to_validate, body) = validator.payload(&payload?)? {
            if unchanged(to_validate.index) {
                continue;
            }
            let mut func = to_validate.into_validator(allocations);
            func.validate(&body)?;
            allocations = func.into_allocations();
        }
    }
    Ok(())
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
    let mut module = Module {
        bytes,
        sections: Vec::new(),
        types: Vec::new(),
        function_types: Vec::new(),
        function_imports: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        exports: Vec::new(),
        bodies: Vec::new(),
        eh: EhUse::default(),
        function_references: Vec::new(),
        names: Names::default(),
        marker: None,
        memory32: false,
    };
    // Global and tag types arrive with their sections; imported ones are filled in from the
    // validator's types at the end, so remember the import names until then.
    let mut global_imports = Vec::new();
    let mut tag_imports = Vec::new();
    let mut allocations = Default::default();

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
        if let Some((id, range)) = payload.as_section() {
            let (range, custom_name) = match &payload {
                Payload::CustomSection(c) => (c.data_offset()..c.range().end, Some(c.name())),
                _ => (range, None),
            };
            module.sections.push(Section {
                id,
                range,
                custom_name,
            });
        }
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let named = Import {
                        module: import.module,
                        name: import.name,
                    };
                    match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            module.function_types.push(ty);
                            module.function_imports.push(named);
                        }
                        TypeRef::Global(_) => global_imports.push(named),
                        TypeRef::Tag(_) => tag_imports.push(named),
                        TypeRef::Table(_) | TypeRef::Memory(_) => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.function_types.push(ty?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    module.exports.push(Export {
                        name: export.name,
                        kind: export.kind,
                        index: export.index,
                    });
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    read_element_functions(bytes, element?.items, &mut module.function_references)?;
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    read_ref_funcs(global?.init_expr, &mut module.function_references)?;
                }
            }
            Payload::CustomSection(reader) => match reader.name() {
                "name" => module.names = read_names(reader.data(), reader.data_offset()),
                MARKER_SECTION => module.marker = std::str::from_utf8(reader.data()).ok(),
                _ => {}
            },
            _ => {}
        }
        match valid {
            ValidPayload::Func(to_validate, body) => {
                let mut func = to_validate.into_validator(allocations);
                let facts = scan_body(&body, &mut func, &mut module.eh)?;
                module.bodies.push(facts);
                allocations = func.into_allocations();
            }
            ValidPayload::End(types) => {
                let types = types.as_ref();
                module.types = (0..types.core_type_count_in_module())
                    .map(
                        |i| match &types[types.core_type_at_in_module(i)].composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f.clone()),
                            _ => None,
                        },
                    )
                    .collect();
                let mut global_imports = global_imports.drain(..);
                module.globals = (0..types.global_count())
                    .map(|i| Global {
                        ty: types.global_at(i),
                        import: None,
                    })
                    .collect();
                for global in module.globals.iter_mut().take(global_imports.len()) {
                    global.import = global_imports.next();
                }
                module.memory32 = types.memory_count() > 0 && !types.memory_at(0).memory64;
                let imported_tags = tag_imports.len();
                let mut tag_imports = tag_imports.drain(..);
                module.tags = (0..types.tag_count())
                    .map(|i| Tag {
                        params: types[types.tag_at(i)].unwrap_func().params().to_vec(),
                        import: if (i as usize) < imported_tags {
                            tag_imports.next()
                        } else {
                            None
                        },
                    })
                    .collect();
            }
            ValidPayload::Ok | ValidPayload::Parser(_) => {}
        }
    }
    Ok(module)
}

/// Validates one body and records its calls, throws and EH encoding in the same pass.
fn scan_body(
    body: &FunctionBody<'_>,
    func: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    eh: &mut EhUse,
) -> Result<Body, wasmparser::BinaryReaderError> {
    let mut facts = Body {
        range: body.range(),
        ..Body::default()
    };
    let mut reader = body.get_binary_reader();
    func.read_locals(&mut reader)?;
    let mut ops = wasmparser::OperatorsReader::new(reader);
    while !ops.eof() {
        let (op, at) = ops.read_with_offset()?;
        func.op(at, &op)?;
        match op {
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                // The index follows the one-byte opcode.
                facts.calls.push(Call {
                    callee: function_index,
                    index_bytes: at + 1..ops.original_position(),
                    reference: false,
                });
            }
            Operator::RefFunc { function_index } => {
                facts.calls.push(Call {
                    callee: function_index,
                    index_bytes: at + 1..ops.original_position(),
                    reference: true,
                });
            }
            Operator::CallIndirect { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. } => facts.calls_indirectly = true,
            Operator::Throw { tag_index } => {
                eh.throw = true;
                facts.throws.push(tag_index);
            }
            Operator::ThrowRef => {
                eh.exnref = true;
                facts.rethrows = true;
            }
            Operator::TryTable { .. } => eh.exnref = true,
            Operator::Rethrow { .. } => {
                eh.legacy = true;
                facts.rethrows = true;
            }
            Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. } => eh.legacy = true,
            Operator::Unreachable => facts.has_unreachable = true,
            _ => {}
        }
    }
    ops.finish()?;
    Ok(facts)
}

fn read_element_functions(
    bytes: &[u8],
    items: wasmparser::ElementItems<'_>,
    into: &mut Vec<Call>,
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
                into.push(Call {
                    callee,
                    index_bytes: at..at + width,
                    reference: true,
                });
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

/// The `ref.func`s of a constant expression.
fn read_ref_funcs(
    expr: wasmparser::ConstExpr<'_>,
    into: &mut Vec<Call>,
) -> Result<(), wasmparser::BinaryReaderError> {
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let (op, at) = ops.read_with_offset()?;
        if let Operator::RefFunc { function_index } = op {
            into.push(Call {
                callee: function_index,
                index_bytes: at + 1..ops.original_position(),
                reference: true,
            });
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
