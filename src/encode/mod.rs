//! Encode: write the module back out with the edits applied.
//!
//! Sections the edits do not touch are copied as they are. Vector sections that gain entries
//! (types, imports, functions, globals, code) keep their original bytes and get the new entries
//! appended, with the item count rewritten. Every place the input names a function by index
//! (`load` records each one's bytes) is rewritten where the function is redirected or, when
//! imports are added, renumbered (`IndexMap`): code, element segments, global and table
//! initialisers, exports, the start section and the name section. An added global import
//! renumbers the defined globals the same way, in code, constant expressions, exports and names
//! (`load::globals` finds them, only then). Bodies without such a change are copied byte for
//! byte. The code section's count keeps its byte width so that DWARF, whose
//! addresses are offsets into the code section, stays correct as long as no existing body changes.
//!
//! The output is handed on in pieces as it is written (`Out`), never held whole: small pieces
//! gather, large runs of the input's bytes go on as they are. A section's size comes before its
//! bytes, so the code section's is worked out first (`Encoder::spliced_len`). `names` rewrites
//! the name section. The encoder also says which output bodies need no validation
//! (`trusted_bodies`), before it writes them; the rule is stated once, on `Encoder::trusted`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use wasm_encoder::{Encode, ExportSection, ProducersField, SectionId};
use wasmparser::{BinaryReader, ExternalKind, ProducersSectionReader};

use crate::abi::MARKER_SECTION;
use crate::edits::{Added, Edits};
use crate::load::globals::GlobalUse;
use crate::load::{self, Body, FunctionUse, IndirectCall, Module, Section, UseKind};

mod names;

const TYPE: u8 = SectionId::Type as u8;
const IMPORT: u8 = SectionId::Import as u8;
const FUNCTION: u8 = SectionId::Function as u8;
const GLOBAL: u8 = SectionId::Global as u8;
const EXPORT: u8 = SectionId::Export as u8;
const ELEMENT: u8 = SectionId::Element as u8;
const CODE: u8 = SectionId::Code as u8;
/// The opcodes of `call` and `return_call`, which replace redirected `call_indirect`s.
const CALL: u8 = 0x10;
const RETURN_CALL: u8 = 0x12;

/// The position of a known section in the order the binary format requires (custom sections,
/// which may come anywhere, 0).
fn rank(id: u8) -> usize {
    use SectionId::*;
    let order = [
        Type, Import, Function, Table, Memory, Tag, Global, Export, Start, Element, DataCount,
        Code, Data,
    ];
    order
        .iter()
        .position(|&s| s as u8 == id)
        .map_or(0, |at| at + 1)
}

/// Where each function (global) of the edits' index space lands in the output. Added imports
/// follow the input's imports, so they push every defined function (global) up by their number;
/// added definitions follow the input's.
#[derive(Debug, Clone)]
pub struct IndexMap {
    imported: u32,
    input: u32,
    added_imports: u32,
    /// Output index of each added import or definition, in the order they were added.
    added: Vec<u32>,
}

impl IndexMap {
    pub fn functions(module: &Module<'_>, edits: &Edits) -> IndexMap {
        let input = module.function_count();
        IndexMap::new(module.imported_functions(), input, &edits.added)
    }

    pub fn globals(module: &Module<'_>, edits: &Edits) -> IndexMap {
        let input = module.globals.len() as u32;
        IndexMap::new(module.imported_globals(), input, &edits.added_globals)
    }

    fn new(imported: u32, input: u32, added: &[Added]) -> IndexMap {
        let added_imports = added
            .iter()
            .filter(|a| matches!(a, Added::Import(_)))
            .count() as u32;
        let added = added
            .iter()
            .map(|added| match *added {
                Added::Import(i) => imported + i,
                Added::Defined(d) => input + added_imports + d,
            })
            .collect();
        IndexMap {
            imported,
            input,
            added_imports,
            added,
        }
    }

    /// The output index of `index` (in the edits' index space).
    pub fn output(&self, index: u32) -> u32 {
        if index < self.imported {
            index
        } else if index < self.input {
            index + self.added_imports
        } else {
            self.added[(index - self.input) as usize]
        }
    }

    /// The output index of the first added definition.
    pub fn first_added(&self) -> u32 {
        self.input + self.added_imports
    }

    /// Nothing moves: the output's numbering is the edits'.
    pub fn is_identity(&self) -> bool {
        self.added_imports == 0
    }
}

/// How many bytes gather before they are handed on; a larger piece of the input (the code
/// section's bodies, a data or DWARF section) is handed on as it is, without a copy.
const PIECE: usize = 64 * 1024;

/// Where the encoder writes: small pieces gather in `buf` and go to `take` once there are
/// enough of them, so the whole output is never held at once (the caller may keep it).
pub struct Out<'t> {
    buf: Vec<u8>,
    take: &'t mut dyn FnMut(&[u8]),
}

impl Out<'_> {
    /// Appends `bytes` to the output.
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() >= PIECE {
            self.flush();
            (self.take)(bytes);
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= PIECE {
            self.flush();
        }
    }

    /// Appends what `write` encodes (small: a count, a size, an index).
    fn encode(&mut self, write: impl Encode) {
        write.encode(&mut self.buf);
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            (self.take)(&self.buf);
            self.buf.clear();
        }
    }

    fn section(&mut self, id: u8, payload: &[u8]) {
        self.buf.push(id);
        self.encode(payload.len() as u32);
        self.put(payload);
    }

    /// The name section, from its subsections (not joined first: it can be megabytes).
    fn names(&mut self, subsections: &[(u8, Cow<'_, [u8]>)]) {
        let size = (subsections.iter())
            .map(|(_, payload)| 1 + leb_width(payload.len() as u32) + payload.len())
            .sum();
        self.custom_header("name", size);
        for (id, payload) in subsections {
            self.section(*id, payload);
        }
    }

    fn custom(&mut self, name: &str, data: &[u8]) {
        self.custom_header(name, data.len());
        self.put(data);
    }

    /// A custom section's id, size and name, for `data_len` bytes of data to follow.
    fn custom_header(&mut self, name: &str, data_len: usize) {
        self.buf.push(0);
        self.encode((leb_width(name.len() as u32) + name.len() + data_len) as u32);
        self.encode(name);
    }
}

/// How many bytes the LEB128 of `value` takes.
fn leb_width(value: u32) -> usize {
    let bits = 32 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// The output of one module and its edits: which of its bodies need no validation
/// (`trusted_bodies`), known before it is written, and the writing itself (`encode`).
pub struct Encoder<'m, 'a> {
    module: &'m Module<'a>,
    edits: &'m Edits,
    functions: IndexMap,
    globals: IndexMap,
    /// Where the input names a defined global, when globals move (else empty): in each body,
    /// and outside code.
    global_uses: Vec<Vec<GlobalUse>>,
    global_uses_outside_code: Vec<GlobalUse>,
    /// Some existing body changes, so the code section is rewritten.
    patches_code: bool,
    /// Where a call of each input function goes (`Edits::redirected_calls`, looked up once a
    /// function rather than once a use: a module has a use for every call).
    calls: Vec<u32>,
}

impl<'m, 'a> Encoder<'m, 'a> {
    pub fn new(module: &'m Module<'a>, edits: &'m Edits) -> Self {
        let calls = (0..module.function_count())
            .map(|f| edits.redirected_calls.get(&f).copied().unwrap_or(f))
            .collect();
        let globals = IndexMap::globals(module, edits);
        let (global_uses, global_uses_outside_code) = match globals.is_identity() {
            true => (Vec::new(), Vec::new()),
            false => {
                let first = module.imported_globals();
                let bodies = (module.bodies.iter())
                    .map(|b| {
                        load::globals::in_body(&module.bytes[b.range.clone()], b.range.start, first)
                    })
                    .collect();
                (bodies, load::globals::outside_code(module))
            }
        };
        let mut encoder = Encoder {
            module,
            edits,
            functions: IndexMap::functions(module, edits),
            globals,
            global_uses,
            global_uses_outside_code,
            patches_code: false,
            calls,
        };
        encoder.patches_code = (0..module.bodies.len()).any(|b| encoder.changes(b));
        encoder
    }

    /// Writes the output, handing it to `take` piece by piece, in order (see [`Out`]).
    pub fn encode(&self, add_names: bool, take: &mut dyn FnMut(&[u8])) -> Vec<String> {
        let (module, edits) = (self.module, self.edits);
        let mut out = Out {
            buf: Vec::with_capacity(PIECE),
            take,
        };
        out.put(&module.bytes[..8]);
        let mut warnings = Vec::new();
        self.write_sections(&mut out, &mut warnings);
        if !module.names.present && add_names {
            let names = self.names(&[]).expect("added names encode");
            out.names(&names);
        }
        if module
            .sections
            .iter()
            .all(|s| s.custom_name != Some("producers"))
        {
            out.custom("producers", &producers(None));
        }
        if let Some(marker) = &edits.marker {
            let mut marker = marker.clone();
            marker.added_from = self.functions.first_added();
            out.custom(MARKER_SECTION, marker.to_string().as_bytes());
        }
        out.flush();
        warnings
    }

    /// The function a use names in the edits' space: redirected, except the start function
    /// (the guard shims calls made by the module's code, not the host's instantiation).
    fn redirected(&self, use_: &FunctionUse) -> u32 {
        let edits = self.edits;
        let entry = match use_.kind {
            UseKind::Start => return use_.function,
            // Only element segments' entries are repointed one by one (`tables`).
            UseKind::Call => None,
            UseKind::Element | UseKind::RefFunc => {
                edits.redirected_entries.get(&use_.index_bytes().start)
            }
        };
        entry.copied().unwrap_or(self.calls[use_.function as usize])
    }

    /// The output index a use names.
    fn target(&self, use_: &FunctionUse) -> u32 {
        self.functions.output(self.redirected(use_))
    }

    /// Whether the body at `position` of the code section changes.
    fn changes(&self, position: usize) -> bool {
        self.body_patches(position).next().is_some()
    }

    /// The changes to the body at `position`: its function uses redirected or renumbered, its
    /// globals renumbered, and each `call_indirect` the guard redirects replaced by a call of its
    /// shim (`call` or `return_call`: the shim takes the same arguments and slot and gives the
    /// same results, so the stack effect is the same). Not in order.
    fn body_patches(&self, position: usize) -> impl Iterator<Item = Patch> {
        let body = &self.module.bodies[position];
        let globals = self.global_uses.get(position).map_or(&[][..], |g| &g[..]);
        let calls = body.indirect_calls.iter().filter_map(|call| {
            Some(Patch {
                bytes: call.bytes.clone(),
                opcode: Some(if call.tail { RETURN_CALL } else { CALL }),
                index: self.shim(call)?,
            })
        });
        let target = |u: &FunctionUse| self.target(u);
        self.index_patches(&body.uses, target, globals).chain(calls)
    }

    /// The function indices among `uses` (which go to `target`) and the global indices among
    /// `globals` that change. Not in order.
    fn index_patches<'u>(
        &self,
        uses: impl IntoIterator<Item = &'u FunctionUse>,
        target: impl Fn(&FunctionUse) -> u32,
        globals: impl IntoIterator<Item = &'u GlobalUse>,
    ) -> impl Iterator<Item = Patch> {
        let functions = (uses.into_iter()).map(move |u| (u.index_bytes(), u.function, target(u)));
        let globals = globals.into_iter().map(|g| {
            (
                g.index_bytes.clone(),
                g.global,
                self.globals.output(g.global),
            )
        });
        (functions.chain(globals))
            .filter(|(_, from, to)| from != to)
            .map(|(bytes, _, index)| Patch {
                bytes,
                opcode: None,
                index,
            })
    }

    /// The shim an indirect call goes through now, in the output's index space.
    fn shim(&self, call: &IndirectCall) -> Option<u32> {
        let shim = self
            .edits
            .redirected_indirect
            .get(&(call.table, call.type_index))?;
        Some(self.functions.output(*shim))
    }

    fn write_sections(&self, out: &mut Out<'_>, warnings: &mut Vec<String>) {
        let module = self.module;
        // Sections the edits need that the input lacks, in binary order.
        let mut missing: Vec<u8> = [TYPE, IMPORT, FUNCTION, GLOBAL, EXPORT, ELEMENT, CODE]
            .into_iter()
            .filter(|&id| module.section(id).is_none() && self.needs(id))
            .collect();
        missing.sort_by_key(|&id| rank(id));
        let mut missing = missing.into_iter().peekable();
        let empty_section = |id| Section {
            id,
            range: 0..0,
            custom_name: None,
        };
        let mut dropped_dwarf = false;
        for section in &module.sections {
            if section.id != 0 {
                while let Some(id) = missing.next_if(|&id| rank(id) < rank(section.id)) {
                    self.write_known(out, &empty_section(id));
                }
                self.write_known(out, section);
                continue;
            }
            let data = &module.bytes[section.range.clone()];
            match section.custom_name.unwrap_or_default() {
                "name" => match self.names(data) {
                    Some(names) => out.names(&names),
                    None => warnings.push(
                        "dropped the name section: it is malformed, so the indices it names cannot be renumbered"
                            .into(),
                    ),
                },
                "producers" => out.custom("producers", &producers(Some((data, section.range.start)))),
                name if name.starts_with(".debug_") && self.patches_code => dropped_dwarf = true,
                name => out.custom(name, data),
            }
        }
        for id in missing {
            self.write_known(out, &empty_section(id));
        }
        if dropped_dwarf {
            warnings.push(
                "dropped the DWARF sections: rewritten indices moved code they describe"
                    .to_string(),
            );
        }
    }

    fn needs(&self, id: u8) -> bool {
        let edits = self.edits;
        match id {
            TYPE => !edits.types.is_empty(),
            IMPORT => !edits.imports.is_empty() || !edits.global_imports.is_empty(),
            FUNCTION | CODE => !edits.functions.is_empty(),
            GLOBAL => !edits.globals.is_empty(),
            EXPORT => !edits.exports.is_empty(),
            ELEMENT => !edits.declared_functions.is_empty(),
            _ => false,
        }
    }

    /// Writes a non-custom section, applying the edits that concern it.
    fn write_known(&self, out: &mut Out<'_>, section: &Section<'_>) {
        let (module, edits) = (self.module, self.edits);
        let data = &module.bytes[section.range.clone()];
        if section.id == CODE {
            return self.code(out, data);
        }
        let mut added = Vec::new();
        let payload = match section.id {
            TYPE => {
                for (params, results) in &edits.types {
                    // A function type, as its own implicit rec group.
                    added.push(0x60);
                    params.encode(&mut added);
                    results.encode(&mut added);
                }
                append_items(data, edits.types.len(), &added, false).into()
            }
            IMPORT => {
                for import in &edits.imports {
                    import.module.encode(&mut added);
                    import.name.encode(&mut added);
                    wasm_encoder::EntityType::Function(import.ty).encode(&mut added);
                }
                for import in &edits.global_imports {
                    import.module.encode(&mut added);
                    import.name.encode(&mut added);
                    wasm_encoder::EntityType::Global(import.ty).encode(&mut added);
                }
                let count = edits.imports.len() + edits.global_imports.len();
                append_items(data, count, &added, false).into()
            }
            FUNCTION => {
                for f in &edits.functions {
                    f.type_index.encode(&mut added);
                }
                append_items(data, edits.functions.len(), &added, false).into()
            }
            GLOBAL => {
                for g in &edits.globals {
                    g.ty.encode(&mut added);
                    g.init.encode(&mut added);
                }
                let globals = self.splice(section.range.clone());
                append_items(&globals, edits.globals.len(), &added, false).into()
            }
            EXPORT => self.exports().into(),
            ELEMENT => self.elements(section.range.clone()).into(),
            // Tables (initialisers), start, data...: the input's bytes with function indices
            // rewritten (when there are any).
            _ => self.splice(section.range.clone()),
        };
        out.section(section.id, &payload);
    }

    fn elements(&self, range: Range<usize>) -> Vec<u8> {
        let segments = self.splice(range);
        if self.edits.declared_functions.is_empty() {
            return segments.into_owned();
        }
        // One declarative segment (flags 3: declared, elemkind funcref, function indices).
        let mut added = vec![3, 0];
        let declared: Vec<u32> = self
            .edits
            .declared_functions
            .iter()
            .map(|&f| self.functions.output(f))
            .collect();
        declared.encode(&mut added);
        append_items(&segments, 1, &added, false)
    }

    fn exports(&self) -> Vec<u8> {
        let mut section = ExportSection::new();
        for (position, export) in self.module.exports.iter().enumerate() {
            let index = match export.kind {
                ExternalKind::Func | ExternalKind::FuncExact => {
                    let to = self.edits.repointed_exports.get(&position);
                    self.functions.output(to.copied().unwrap_or(export.index))
                }
                ExternalKind::Global => self.globals.output(export.index),
                _ => export.index,
            };
            section.export(export.name, export.kind.into(), index);
        }
        for (name, kind, index) in &self.edits.exports {
            let index = match kind {
                wasm_encoder::ExportKind::Func => self.functions.output(*index),
                wasm_encoder::ExportKind::Global => self.globals.output(*index),
                _ => *index,
            };
            section.export(name, *kind, index);
        }
        let mut payload = Vec::new();
        section.encode(&mut payload);
        // `ExportSection::encode` writes the payload with its size prefix; drop the prefix.
        let (_, rest) = split_count(&payload);
        rest.to_vec()
    }

    /// The code section. Its size comes first: what the changed bodies will measure is worked
    /// out before they are spliced (`spliced_len`), rather than holding them all until the end.
    fn code(&self, out: &mut Out<'_>, data: &[u8]) {
        let added = self.added_bodies();
        let count = (self.module.bodies.len() + self.edits.functions.len()) as u32;
        let mut head = Vec::new();
        if !self.patches_code {
            let (_, items) = split_count(data);
            write_padded_u32(&mut head, count, data.len() - items.len());
            out.buf.push(CODE);
            out.encode((head.len() + items.len() + added.len()) as u32);
            out.put(&head);
            out.put(items);
        } else {
            count.encode(&mut head);
            let bodies: usize = (0..self.module.bodies.len())
                .map(|position| self.spliced_len(position))
                .map(|len| leb_width(len as u32) + len)
                .sum();
            out.buf.push(CODE);
            out.encode((head.len() + bodies + added.len()) as u32);
            out.put(&head);
            for position in 0..self.module.bodies.len() {
                let bytes = self.splice_body(position);
                out.encode(bytes.len() as u32);
                out.put(&bytes);
            }
        }
        out.put(&added);
    }

    /// The added functions' bodies, each with its size, as the code section has them, with the
    /// function and global indices they name renumbered.
    fn added_bodies(&self) -> Vec<u8> {
        let mut added = Vec::new();
        for f in &self.edits.functions {
            let mut body = Vec::new();
            f.body.encode(&mut body);
            if self.functions.is_identity() && self.globals.is_identity() {
                added.extend_from_slice(&body);
            } else {
                let (_, bytes) = split_count(&body);
                let uses = load::function_uses(bytes);
                let globals = match self.globals.is_identity() {
                    true => Vec::new(),
                    false => load::globals::in_body(bytes, 0, self.module.imported_globals()),
                };
                // Ours name functions in the edits' space, never redirected.
                let target = |u: &FunctionUse| self.functions.output(u.function);
                let patches = in_order(self.index_patches(&uses, target, &globals));
                let bytes = splice_with(bytes, 0..bytes.len(), patches);
                (bytes.len() as u32).encode(&mut added);
                added.extend_from_slice(&bytes);
            }
        }
        added
    }

    /// How long `splice_body` makes the body at `position`, worked out without splicing it.
    fn spliced_len(&self, position: usize) -> usize {
        let len = self.module.bodies[position].range.len();
        self.body_patches(position)
            .fold(len, |len, patch| len + patch.len() - patch.bytes.len())
    }

    /// The bytes of the body at `position`, with its changes (`body_patches`).
    fn splice_body(&self, position: usize) -> Cow<'a, [u8]> {
        let range = self.module.bodies[position].range.clone();
        splice_with(
            self.module.bytes,
            range,
            in_order(self.body_patches(position)),
        )
    }

    /// The input's bytes in `range`, outside code, with each function and global index in it
    /// rewritten to its target.
    fn splice(&self, range: Range<usize>) -> Cow<'a, [u8]> {
        let module = self.module;
        let inside = |at: &Range<usize>| range.contains(&at.start);
        let uses = module
            .uses_outside_code
            .iter()
            .filter(|u| inside(&u.index_bytes()));
        let globals = self
            .global_uses_outside_code
            .iter()
            .filter(|g| inside(&g.index_bytes));
        let target = |u: &FunctionUse| self.target(u);
        let patches = in_order(self.index_patches(uses, target, globals));
        splice_with(module.bytes, range, patches)
    }

    /// Which output bodies need no validation. The rule: an input body whose every function use
    /// names, in the output, a function of the very type the input's named (a redirect to a
    /// shim, or the same function renumbered), and whose every `ref.func` names a function the
    /// output declares. Its bytes are otherwise the input's, which `load` validated, but for
    /// globals renumbered with their definitions, and every other index it uses (types, tables,
    /// memories, tags, data) kept its meaning, since edits only append those. Every other body,
    /// ours included, is validated. By output function index.
    pub fn trusted_bodies(&self) -> Vec<bool> {
        let declared = self.declared();
        let total = self.module.function_count() + self.edits.added.len() as u32;
        let mut trusted = vec![false; total as usize];
        for (position, body) in self.module.bodies.iter().enumerate() {
            let index = self
                .functions
                .output(self.module.imported_functions() + position as u32);
            trusted[index as usize] = self.trusted(body, &declared);
        }
        trusted
    }

    fn trusted(&self, body: &Body, declared: &HashSet<u32>) -> bool {
        body.uses.iter().all(|u| {
            let to = self.redirected(u);
            self.type_of(to) == self.module.function_types[u.function as usize]
                && (u.kind != UseKind::RefFunc || declared.contains(&self.functions.output(to)))
        })
    }

    /// The type index of function `index` in the edits' space.
    fn type_of(&self, index: u32) -> u32 {
        match self.edits.added(index) {
            None => self.module.function_types[index as usize],
            Some(Added::Import(i)) => self.edits.imports[i as usize].ty,
            Some(Added::Defined(f)) => self.edits.functions[f as usize].type_index,
        }
    }

    /// The functions the output declares for `ref.func` (by output index): those in element
    /// segments, global and table initialisers, exports and our declarative segment.
    fn declared(&self) -> HashSet<u32> {
        let module = self.module;
        let outside = module
            .uses_outside_code
            .iter()
            .filter(|u| u.kind != UseKind::Start)
            .map(|u| self.target(u));
        let exported = module
            .exports
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.kind, ExternalKind::Func | ExternalKind::FuncExact))
            .map(|(position, e)| {
                let to = self.edits.repointed_exports.get(&position);
                self.functions.output(to.copied().unwrap_or(e.index))
            });
        let ours = self.edits.declared_functions.iter().chain(
            self.edits
                .exports
                .iter()
                .filter(|(_, kind, _)| *kind == wasm_encoder::ExportKind::Func)
                .map(|(_, _, index)| index),
        );
        outside
            .chain(exported)
            .chain(ours.map(|&f| self.functions.output(f)))
            .collect()
    }
}

/// A change to the input's bytes: `bytes` become `opcode` (when there is one) and the LEB128 of
/// `index`.
struct Patch {
    bytes: Range<usize>,
    opcode: Option<u8>,
    index: u32,
}

impl Patch {
    /// How many bytes it writes.
    fn len(&self) -> usize {
        usize::from(self.opcode.is_some()) + leb_width(self.index)
    }
}

/// The patches in the order of the bytes they change.
fn in_order(patches: impl Iterator<Item = Patch>) -> Vec<Patch> {
    let mut patches: Vec<Patch> = patches.collect();
    patches.sort_unstable_by_key(|p| p.bytes.start);
    patches
}

/// The bytes in `range` with `patches` (in order, inside `range`) applied.
fn splice_with(bytes: &[u8], range: Range<usize>, patches: Vec<Patch>) -> Cow<'_, [u8]> {
    if patches.is_empty() {
        return Cow::Borrowed(&bytes[range]);
    }
    let mut out = Vec::with_capacity(range.len() + 16);
    let mut copied = range.start;
    for patch in patches {
        out.extend_from_slice(&bytes[copied..patch.bytes.start]);
        out.extend(patch.opcode);
        patch.index.encode(&mut out);
        copied = patch.bytes.end;
    }
    out.extend_from_slice(&bytes[copied..range.end]);
    Cow::Owned(out)
}

/// A vector section with `count` more items whose bytes are `added`. `keep_width` pads the new
/// count to the old count's byte width (LEB128 allows redundant continuation bytes).
fn append_items(data: &[u8], count: usize, added: &[u8], keep_width: bool) -> Vec<u8> {
    let (old, items) = split_count(data);
    let mut out = Vec::with_capacity(data.len() + added.len() + 5);
    let width = if keep_width {
        data.len() - items.len()
    } else {
        0
    };
    write_padded_u32(&mut out, old + count as u32, width);
    out.extend_from_slice(items);
    out.extend_from_slice(added);
    out
}

/// The leading LEB128 (a vector's item count, or a size) and the bytes after it. Empty data
/// counts zero.
fn split_count(data: &[u8]) -> (u32, &[u8]) {
    if data.is_empty() {
        return (0, data);
    }
    let mut reader = BinaryReader::new(data, 0);
    let count = reader.read_var_u32().expect("validated section count");
    (count, &data[reader.original_position()..])
}

fn write_padded_u32(out: &mut Vec<u8>, mut value: u32, min_width: usize) {
    let mut written = 0;
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        written += 1;
        let more = value != 0 || written < min_width;
        if more {
            byte |= 0x80;
        }
        out.push(byte);
        if !more {
            break;
        }
    }
}

/// The producers section with our tool added under `processed-by`. A malformed input section is
/// replaced rather than copied: it carries no meaning an engine uses.
fn producers(existing: Option<(&[u8], usize)>) -> Vec<u8> {
    let ours = ("wasm-unwind", env!("CARGO_PKG_VERSION"));
    let reader = existing.and_then(|(data, offset)| {
        ProducersSectionReader::new(BinaryReader::new(data, offset)).ok()
    });
    let mut fields: Vec<(&str, ProducersField)> = Vec::new();
    for field in reader.into_iter().flatten().filter_map(|f| f.ok()) {
        let mut values = ProducersField::new();
        for value in field.values.into_iter().filter_map(|v| v.ok()) {
            if !(field.name == "processed-by" && value.name == ours.0) {
                values.value(value.name, value.version);
            }
        }
        if field.name == "processed-by" {
            values.value(ours.0, ours.1);
        }
        fields.push((field.name, values));
    }
    if fields.iter().all(|(name, _)| *name != "processed-by") {
        let mut values = ProducersField::new();
        values.value(ours.0, ours.1);
        fields.push(("processed-by", values));
    }
    let mut payload = Vec::new();
    (fields.len() as u32).encode(&mut payload);
    for (name, values) in &fields {
        name.encode(&mut payload);
        values.encode(&mut payload);
    }
    payload
}

#[cfg(test)]
mod tests {
    use wasm_encoder::{Function, ValType};

    use super::*;
    use crate::load::load;

    fn module(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    /// A function added by the edits that only traps, of type `ty`.
    fn stub(edits: &mut Edits, ty: u32) -> u32 {
        let mut body = Function::new([]);
        body.instructions().unreachable().end();
        edits.add_function(ty, "stub".into(), body)
    }

    fn encoded(module: &Module<'_>, edits: &Edits, add_names: bool) -> Vec<u8> {
        let mut wasm = Vec::new();
        let mut take = |piece: &[u8]| wasm.extend_from_slice(piece);
        Encoder::new(module, edits).encode(add_names, &mut take);
        wasm
    }

    /// Whether `wasm` validates, with no body trusted.
    fn validates(wasm: &[u8]) -> bool {
        let mut ignore = |_: &[u8]| {};
        let mut check = crate::validate::Checked::new(Vec::new(), &mut ignore);
        check.piece(wasm);
        check.finish().is_ok()
    }

    /// Whether the body of output function `f` is trusted, and whether the output validates.
    fn outcome(bytes: &[u8], edits: impl FnOnce(&Module<'_>, &mut Edits), f: u32) -> (bool, bool) {
        let module = load(bytes).unwrap();
        let mut e = Edits::new(&module);
        edits(&module, &mut e);
        let wasm = encoded(&module, &e, false);
        (
            Encoder::new(&module, &e).trusted_bodies()[f as usize],
            validates(&wasm),
        )
    }

    const REF_IMPORT: &str = r#"(module
        (type $t (func))
        (import "env" "f" (func $f (type $t)))
        (import "env" "g" (func $g (param i32)))
        (elem declare func $f)
        (func $user (result funcref) (call $f) (ref.func $f)))"#;

    #[test]
    fn an_untouched_body_is_trusted() {
        let bytes = module(REF_IMPORT);
        assert_eq!(outcome(&bytes, |_, _| {}, 2), (true, true));
    }

    #[test]
    fn a_body_whose_ref_func_is_redirected_to_an_undeclared_function_is_validated() {
        // The shape of tests/regressions/shim-ref-func-undeclared: the guard's shim for an
        // import the code takes with `ref.func`, not declared. Trusting it would emit an
        // invalid module; validating it catches the bug.
        // Declared only by its re-export, which is not redirected: the shim stays undeclared.
        let bytes = module(
            r#"(module
                (type $t (func))
                (import "env" "f" (func $f (type $t)))
                (export "f" (func $f))
                (func $user (result funcref) (call $f) (ref.func $f)))"#,
        );
        let undeclared = |_: &Module<'_>, e: &mut Edits| {
            let shim = stub(e, 0);
            e.redirected_calls.insert(0, shim);
        };
        assert_eq!(outcome(&bytes, undeclared, 1), (false, false));
        let declared = |_: &Module<'_>, e: &mut Edits| {
            let shim = stub(e, 0);
            e.redirected_calls.insert(0, shim);
            e.declared_functions.push(shim);
        };
        assert_eq!(outcome(&bytes, declared, 1), (true, true));
    }

    #[test]
    fn a_body_redirected_to_a_function_of_another_type_is_validated() {
        let bytes = module(REF_IMPORT);
        let other_type = |_: &Module<'_>, e: &mut Edits| {
            let ty = e.add_type(&[ValType::I32], &[]);
            let shim = stub(e, ty);
            e.redirected_calls.insert(0, shim);
            e.declared_functions.push(shim);
        };
        assert_eq!(outcome(&bytes, other_type, 2), (false, false));
    }

    #[test]
    fn a_ref_func_declared_only_by_a_repointed_export_is_validated() {
        let bytes = module(
            r#"(module
                (func $target (export "target"))
                (func $user (result funcref) (ref.func $target)))"#,
        );
        let repointed = |_: &Module<'_>, e: &mut Edits| {
            let wrapper = stub(e, 0);
            e.repointed_exports.insert(0, wrapper);
        };
        assert_eq!(outcome(&bytes, repointed, 1), (false, false));
    }

    #[test]
    fn an_added_import_renumbers_every_function_index() {
        let bytes = module(
            r#"(module
                (import "env" "f" (func $f))
                (table $t 2 funcref (ref.func $g))
                (global funcref (ref.func $g))
                (elem (i32.const 0) func $g $f)
                (start $g)
                (func $g (export "g") (local $x i32) (call $f) (return_call $h))
                (func $h (block $l (br $l))))"#,
        );
        let module = load(&bytes).unwrap();
        let mut edits = Edits::new(&module);
        let ty = edits.add_type(&[], &[]);
        let import = edits.add_import("host", "h", ty);
        let calls_h = {
            let mut body = Function::new([]);
            body.instructions().call(2).end();
            edits.add_function(ty, "calls_h".into(), body)
        };
        edits
            .exports
            .push(("calls_h".into(), wasm_encoder::ExportKind::Func, calls_h));
        let encoded = encoded(&module, &edits, true);
        assert!(validates(&encoded));
        let map = IndexMap::functions(&module, &edits);
        assert_eq!(
            (map.output(import), map.output(1), map.output(calls_h)),
            (1, 2, 4)
        );
        let text = wasmprinter::print_bytes(&encoded).unwrap();
        for expected in [
            r#"(import "host" "h" (func $host.h"#,
            "(table $t (;0;) 2 funcref ref.func $g)",
            "(global (;0;) funcref ref.func $g)",
            "(elem (;0;) (i32.const 0) func $g $f)",
            "(start $g)",
            r#"(export "g" (func $g))"#,
            r#"(export "calls_h" (func $calls_h))"#,
            "call $f\n",
            "return_call $h\n",
            "(func $g (;2;)",
            "(local $x i32)",
            "br $l",
            "(func $calls_h (;4;) (type 1)\n    call $h\n",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
    }

    #[test]
    fn an_added_global_import_renumbers_every_global_index() {
        let bytes = module(
            r#"(module
                (import "env" "base" (global $base i32))
                (global $sp (export "sp") (mut i32) (i32.const 64))
                (global $at i32 (global.get $base))
                (global $ref funcref (ref.func $f))
                (memory 1)
                (table $t 2 funcref)
                (elem (table $t) (offset (global.get $base)) func $f)
                (data (offset (global.get $at)) "x")
                (func $f (export "f") (result i32)
                    (global.set $sp (i32.sub (global.get $sp) (global.get $at)))
                    (global.get $sp)))"#,
        );
        let module = load(&bytes).unwrap();
        let mut edits = Edits::new(&module);
        let ty = wasm_encoder::GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        let ours = edits.add_global(ty, wasm_encoder::ConstExpr::i32_const(0), "ours".into());
        let import = edits.add_global_import("GOT.mem", "word", ty);
        let reads = {
            let result = edits.add_type(&[], &[ValType::I32]);
            let mut body = Function::new([]);
            body.instructions()
                .global_get(import)
                .global_get(ours)
                .i32_add()
                .global_get(1)
                .i32_add()
                .end();
            edits.add_function(result, "reads".into(), body)
        };
        edits
            .exports
            .push(("reads".into(), wasm_encoder::ExportKind::Func, reads));
        let encoded = encoded(&module, &edits, true);
        assert!(validates(&encoded));
        let map = IndexMap::globals(&module, &edits);
        assert_eq!(
            (
                map.output(0),
                map.output(import),
                map.output(1),
                map.output(3),
                map.output(ours)
            ),
            (0, 1, 2, 4, 5)
        );
        let text = wasmprinter::print_bytes(&encoded).unwrap();
        for expected in [
            r#"(import "env" "base" (global $base (;0;) i32))"#,
            r#"(import "GOT.mem" "word" (global $GOT.mem.word (;1;) (mut i32)))"#,
            "(global $sp (;2;) (mut i32) i32.const 64)",
            "(global $at (;3;) i32 global.get $base)",
            "(global $ours (;5;) (mut i32) i32.const 0)",
            r#"(export "sp" (global $sp))"#,
            "(elem (;0;) (table $t) (global.get $base) func $f)",
            r#"(data (;0;) (global.get $at) "x")"#,
            "global.get $sp
    global.get $at
    i32.sub
    global.set $sp
    global.get $sp
",
            "global.get $GOT.mem.word
    global.get $ours
    i32.add
    global.get $sp
",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
    }
}
