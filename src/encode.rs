//! Encode: write the module back out with the edits applied.
//!
//! Sections the edits do not touch are copied as they are. Vector sections that gain entries
//! (types, functions, globals, code) keep their original bytes and get the new entries appended,
//! with the item count rewritten. Function bodies are copied unless a call in them is redirected.
//! The code section's count keeps its byte width so that DWARF, whose addresses are offsets into
//! the code section, stays correct as long as no existing body changes.

use wasm_encoder::{Encode, ExportSection, ProducersField};
use wasmparser::{BinaryReader, ProducersSectionReader};

use crate::edits::Edits;
use crate::load::{Call, MARKER_SECTION, Module, Section};

const TYPE: u8 = 1;
const FUNCTION: u8 = 3;
const GLOBAL: u8 = 6;
const EXPORT: u8 = 7;
const ELEMENT: u8 = 9;
const CODE: u8 = 10;
const NAME_FUNCTIONS: u8 = 1;
const NAME_GLOBALS: u8 = 7;

/// The position of a known section in the order the binary format requires.
fn rank(id: u8) -> u8 {
    match id {
        1 => 1,   // type
        2 => 2,   // import
        3 => 3,   // function
        4 => 4,   // table
        5 => 5,   // memory
        13 => 6,  // tag
        6 => 7,   // global
        7 => 8,   // export
        8 => 9,   // start
        9 => 10,  // element
        12 => 11, // data count
        10 => 12, // code
        11 => 13, // data
        _ => 0,
    }
}

pub struct Encoded {
    pub wasm: Vec<u8>,
    pub warnings: Vec<String>,
}

/// Writes `module` with `edits` applied. `add_names` asks for a name section even when the
/// input has none, so the added functions show up readably in stack traces.
pub fn encode(module: &Module<'_>, edits: &Edits, add_names: bool) -> Encoded {
    let mut out = Vec::with_capacity(module.bytes.len() + 4096);
    out.extend_from_slice(&module.bytes[..8]);
    let mut warnings = Vec::new();
    let patches_code = module.bodies.iter().any(|b| redirects(b, edits));
    let mut dropped_dwarf = false;

    // Sections the edits need that the input lacks, in binary order.
    let mut missing: Vec<u8> = [TYPE, FUNCTION, GLOBAL, EXPORT, ELEMENT, CODE]
        .into_iter()
        .filter(|&id| module.section(id).is_none() && needs(id, edits))
        .collect();
    missing.sort_by_key(|&id| rank(id));
    let mut missing = missing.into_iter().peekable();
    let empty_section = |id| Section {
        id,
        range: 0..0,
        custom_name: None,
    };

    for section in &module.sections {
        if section.id != 0 {
            while let Some(id) = missing.next_if(|&id| rank(id) < rank(section.id)) {
                write_known(&mut out, module, edits, &empty_section(id));
            }
            write_known(&mut out, module, edits, section);
            continue;
        }
        let data = &module.bytes[section.range.clone()];
        match section.custom_name.unwrap_or_default() {
            "name" => write_custom(&mut out, "name", &names(data, edits)),
            "producers" => write_custom(
                &mut out,
                "producers",
                &producers(Some((data, section.range.start))),
            ),
            name if name.starts_with(".debug_") && patches_code => dropped_dwarf = true,
            name => write_custom(&mut out, name, data),
        }
    }
    for id in missing {
        write_known(&mut out, module, edits, &empty_section(id));
    }
    if !module.names.present && add_names {
        write_custom(&mut out, "name", &names(&[], edits));
    }
    if module
        .sections
        .iter()
        .all(|s| s.custom_name != Some("producers"))
    {
        write_custom(&mut out, "producers", &producers(None));
    }
    write_custom(&mut out, MARKER_SECTION, edits.marker.as_bytes());

    if dropped_dwarf {
        warnings.push(
            "dropped the DWARF sections: redirected import calls moved code they describe"
                .to_string(),
        );
    }
    Encoded {
        wasm: out,
        warnings,
    }
}

fn needs(id: u8, edits: &Edits) -> bool {
    match id {
        TYPE => !edits.types.is_empty(),
        FUNCTION | CODE => !edits.functions.is_empty(),
        GLOBAL => !edits.globals.is_empty(),
        EXPORT => !edits.exports.is_empty(),
        ELEMENT => !edits.declared_functions.is_empty(),
        _ => false,
    }
}

/// Whether `body` has a call or reference the edits redirect, so that the encoder rewrites it.
pub fn redirects(body: &crate::load::Body, edits: &Edits) -> bool {
    !edits.redirected_calls.is_empty()
        && body
            .calls
            .iter()
            .any(|c| edits.redirected_calls.contains_key(&c.callee))
}

/// Writes a non-custom section, applying the edits that concern it.
fn write_known(out: &mut Vec<u8>, module: &Module<'_>, edits: &Edits, section: &Section<'_>) {
    let data = &module.bytes[section.range.clone()];
    let mut added = Vec::new();
    let payload = match section.id {
        TYPE => {
            for (params, results) in &edits.types {
                // A function type, as its own implicit rec group.
                added.push(0x60);
                params.encode(&mut added);
                results.encode(&mut added);
            }
            append_items(data, edits.types.len(), &added, false)
        }
        FUNCTION => {
            for f in &edits.functions {
                f.type_index.encode(&mut added);
            }
            append_items(data, edits.functions.len(), &added, false)
        }
        GLOBAL => {
            for g in &edits.globals {
                g.ty.encode(&mut added);
                g.init.encode(&mut added);
            }
            let globals = repoint(
                module.bytes,
                section.range.clone(),
                &module.function_references,
                edits,
            );
            append_items(&globals, edits.globals.len(), &added, false)
        }
        EXPORT => exports(module, edits),
        ELEMENT => {
            let segments = repoint(
                module.bytes,
                section.range.clone(),
                &module.function_references,
                edits,
            );
            if edits.declared_functions.is_empty() {
                segments
            } else {
                // One declarative segment (flags 3: declared, elemkind funcref, function indices).
                added.extend_from_slice(&[3, 0]);
                edits.declared_functions.encode(&mut added);
                append_items(&segments, 1, &added, false)
            }
        }
        CODE => code(module, edits, data),
        _ => data.to_vec(),
    };
    write_section(out, section.id, &payload);
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

/// The leading item count of a vector section, and the bytes after it. Empty data counts zero.
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

fn exports(module: &Module<'_>, edits: &Edits) -> Vec<u8> {
    let mut section = ExportSection::new();
    for (position, export) in module.exports.iter().enumerate() {
        let index = edits
            .repointed_exports
            .get(&position)
            .copied()
            .unwrap_or(export.index);
        section.export(export.name, export.kind.into(), index);
    }
    for (name, kind, index) in &edits.exports {
        section.export(name, *kind, *index);
    }
    let mut payload = Vec::new();
    section.encode(&mut payload);
    // `ExportSection::encode` writes the payload with its size prefix; drop the prefix.
    let (_, rest) = split_size(&payload);
    rest.to_vec()
}

fn split_size(bytes: &[u8]) -> (u32, &[u8]) {
    let mut reader = BinaryReader::new(bytes, 0);
    let size = reader.read_var_u32().expect("encoder wrote a size");
    (size, &bytes[reader.original_position()..])
}

fn code(module: &Module<'_>, edits: &Edits, data: &[u8]) -> Vec<u8> {
    let mut added = Vec::new();
    for f in &edits.functions {
        f.body.encode(&mut added);
    }
    if !module.bodies.iter().any(|b| redirects(b, edits)) {
        return append_items(data, edits.functions.len(), &added, true);
    }
    let mut bodies = Vec::with_capacity(data.len() + added.len());
    for body in &module.bodies {
        let bytes = repoint(module.bytes, body.range.clone(), &body.calls, edits);
        (bytes.len() as u32).encode(&mut bodies);
        bodies.extend_from_slice(&bytes);
    }
    bodies.extend_from_slice(&added);
    let mut out = Vec::with_capacity(bodies.len() + 5);
    write_padded_u32(
        &mut out,
        (module.bodies.len() + edits.functions.len()) as u32,
        0,
    );
    out.extend_from_slice(&bodies);
    out
}

/// The bytes in `range` with each redirected function index in `calls` rewritten.
fn repoint(bytes: &[u8], range: std::ops::Range<usize>, calls: &[Call], edits: &Edits) -> Vec<u8> {
    let mut out = Vec::with_capacity(range.len() + 16);
    let mut copied = range.start;
    for call in calls
        .iter()
        .filter(|c| range.contains(&c.index_bytes.start))
    {
        if let Some(&to) = edits.redirected_calls.get(&call.callee) {
            out.extend_from_slice(&bytes[copied..call.index_bytes.start]);
            to.encode(&mut out);
            copied = call.index_bytes.end;
        }
    }
    out.extend_from_slice(&bytes[copied..range.end]);
    out
}

/// The name section with the added functions and globals named. Other subsections are copied.
fn names(data: &[u8], edits: &Edits) -> Vec<u8> {
    let function_names = edits
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| (edits.first_function() + i as u32, &f.name));
    let global_names = edits
        .globals
        .iter()
        .enumerate()
        .map(|(i, g)| (edits.first_global() + i as u32, &g.name));
    let additions = [
        (NAME_FUNCTIONS, encode_names(function_names)),
        (NAME_GLOBALS, encode_names(global_names)),
    ];

    let mut out = Vec::with_capacity(data.len() + 256);
    let mut pending = additions
        .iter()
        .filter(|(_, (count, _))| *count > 0)
        .peekable();
    let mut reader = BinaryReader::new(data, 0);
    while !reader.eof() {
        let (Ok(id), Ok(size)) = (reader.read_u8(), reader.read_var_u32()) else {
            break;
        };
        let Ok(sub) = reader.read_bytes(size as usize) else {
            break;
        };
        while let Some((new_id, (count, bytes))) = pending.next_if(|(new_id, _)| *new_id <= id) {
            let payload = if *new_id == id {
                append_items(sub, *count, bytes, false)
            } else {
                append_items(&[], *count, bytes, false)
            };
            write_section(&mut out, *new_id, &payload);
        }
        if !additions
            .iter()
            .any(|(new_id, (count, _))| *new_id == id && *count > 0)
        {
            write_section(&mut out, id, sub);
        }
    }
    for (id, (count, bytes)) in pending {
        write_section(&mut out, *id, &append_items(&[], *count, bytes, false));
    }
    out
}

/// Name-map entries (index, name) in the binary form, and how many there are.
fn encode_names<'n>(entries: impl Iterator<Item = (u32, &'n String)>) -> (usize, Vec<u8>) {
    let mut count = 0;
    let mut bytes = Vec::new();
    for (index, name) in entries {
        index.encode(&mut bytes);
        name.as_str().encode(&mut bytes);
        count += 1;
    }
    (count, bytes)
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

fn write_section(out: &mut Vec<u8>, id: u8, payload: &[u8]) {
    out.push(id);
    (payload.len() as u32).encode(out);
    out.extend_from_slice(payload);
}

fn write_custom(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = Vec::with_capacity(name.len() + 5 + data.len());
    name.encode(&mut payload);
    payload.extend_from_slice(data);
    write_section(out, 0, &payload);
}
