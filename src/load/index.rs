//! Index: validate the module's sections and record where everything is and the facts the
//! later stages need (signatures, globals, tags, tables, element segments, exports, names); the
//! bodies go to `scan`, in parallel, once the sections are through.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::types::CoreTypeId;
use wasmparser::{
    BinaryReader, CompositeInnerType, Encoding, FuncType, HeapType, Name, NameSectionReader,
    Operator, Parser, Payload, RefType, TypeRef, UnpackedIndex, ValType, ValidPayload, Validator,
    WasmFeatures,
};

use super::{
    ActiveSegment, EhUse, Export, FunctionUse, Global, Import, Module, Names, Section, Table, Tag,
    UseKind, scan,
};
use crate::abi::MARKER_SECTION;
use crate::validate;

pub(super) enum LoadError {
    Component,
    Binary(wasmparser::BinaryReaderError),
}

impl From<wasmparser::BinaryReaderError> for LoadError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        LoadError::Binary(err)
    }
}

pub(super) fn index(bytes: &[u8], features: WasmFeatures) -> Result<Module<'_>, LoadError> {
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
