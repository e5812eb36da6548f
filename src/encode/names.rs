//! The name section, renumbered: function and global names follow their entities to their
//! output indices, ours are added (wrappers, shims, the guard's functions, our globals), and the
//! subsections with nothing to change are copied as they are. Engines read this section only to
//! name functions in stack traces; a malformed one is dropped rather than guessed at.

use std::borrow::Cow;

use wasm_encoder::Encode;
use wasmparser::BinaryReader;

use super::{Encoder, IndexMap, append_items, split_count};
use crate::edits::Added;

const NAME_FUNCTIONS: u8 = 1;
const NAME_LOCALS: u8 = 2;
const NAME_LABELS: u8 = 3;
const NAME_GLOBALS: u8 = 7;

impl<'a> Encoder<'_, 'a> {
    /// The name section's subsections, with function indices renumbered and the added functions
    /// and globals named; the others as they are. `None` when it must be renumbered but is
    /// malformed.
    pub(super) fn names(&self, data: &'a [u8]) -> Option<Vec<(u8, Cow<'a, [u8]>)>> {
        let mut subsections: Vec<(u8, Cow<'a, [u8]>)> = Vec::new();
        let mut reader = BinaryReader::new(data, 0);
        while !reader.eof() {
            let read = (reader.read_u8(), reader.read_var_u32());
            let sub = match read {
                (Ok(id), Ok(size)) => reader.read_bytes(size as usize).map(|sub| (id, sub)),
                _ => Err(read.0.err().or(read.1.err()).expect("one failed")),
            };
            match sub {
                Ok((id, sub)) => subsections.push((id, self.name_subsection(id, sub)?)),
                // Engines ignore what follows a malformed subsection; so do we, unless indices
                // must move: then nothing of it can be trusted.
                Err(_) if self.functions.is_identity() && self.globals.is_identity() => break,
                Err(_) => return None,
            }
        }
        for id in [NAME_FUNCTIONS, NAME_GLOBALS] {
            if !subsections.iter().any(|(i, _)| *i == id) {
                let payload = self.name_subsection(id, &[])?;
                if split_count(&payload).0 > 0 {
                    let at = subsections.partition_point(|(i, _)| *i < id);
                    subsections.insert(at, (id, payload));
                }
            }
        }
        Some(subsections)
    }

    /// One name subsection, renumbered and with our names added.
    fn name_subsection(&self, id: u8, sub: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let edits = self.edits;
        match id {
            NAME_FUNCTIONS => {
                let ours = ours(
                    &edits.added,
                    edits.first_function(),
                    &self.functions,
                    |a| match a {
                        Added::Import(i) => edits.imports[i as usize].qualified_name(),
                        Added::Defined(f) => edits.functions[f as usize].name.clone(),
                    },
                );
                let stray = self.module.names.stray_function;
                self.names_of(sub, &self.functions, stray, ours)
                    .map(Cow::Owned)
            }
            NAME_LOCALS | NAME_LABELS if !self.functions.is_identity() => {
                let mut out = wasm_encoder::IndirectNameMap::new();
                let map = wasmparser::IndirectNameMap::new(BinaryReader::new(sub, 0)).ok()?;
                for entry in map {
                    let entry = entry.ok()?;
                    if entry.index < self.functions.input {
                        out.append(self.functions.output(entry.index), &name_map(entry.names)?);
                    }
                }
                Some(encoded(&out).into())
            }
            NAME_GLOBALS => {
                let ours = ours(
                    &edits.added_globals,
                    edits.first_global(),
                    &self.globals,
                    |a| match a {
                        Added::Import(i) => edits.global_imports[i as usize].qualified_name(),
                        Added::Defined(g) => edits.globals[g as usize].name.clone(),
                    },
                );
                self.names_of(sub, &self.globals, false, ours)
                    .map(Cow::Owned)
            }
            _ => Some(sub.into()),
        }
    }

    /// The names of functions or globals (`map` says where each goes): the input's, renumbered,
    /// and `ours`, in index order. A name of an entity the input does not have (`stray`) is
    /// dropped: it names nothing, and would come out of order.
    fn names_of(
        &self,
        sub: &[u8],
        map: &IndexMap,
        stray: bool,
        ours: Vec<(u32, String)>,
    ) -> Option<Vec<u8>> {
        if map.is_identity() && !stray {
            // Ours come after every input entity: append them to the input's bytes.
            let (count, bytes) = encode_names(ours.into_iter());
            return append_names(sub, count, &bytes);
        }
        let mut names = Vec::new();
        if !sub.is_empty() {
            for naming in wasmparser::NameMap::new(BinaryReader::new(sub, 0)).ok()? {
                let naming = naming.ok()?;
                if naming.index < map.input {
                    names.push((map.output(naming.index), naming.name.to_string()));
                }
            }
        }
        names.extend(ours);
        names.sort_by_key(|(index, _)| *index);
        let (_, bytes) = encode_names(names.iter().cloned());
        Some(append_items(&[], names.len(), &bytes, false))
    }
}

/// The output index and name of each of `added`, the entities the edits add from `first` on.
fn ours(
    added: &[Added],
    first: u32,
    map: &IndexMap,
    name: impl Fn(Added) -> String,
) -> Vec<(u32, String)> {
    let indices = (first..).map(|index| map.output(index));
    indices
        .zip(added)
        .map(|(index, &a)| (index, name(a)))
        .collect()
}

/// A name map (empty: none yet) with `count` more entries, or `None` if its count is
/// malformed. Without entries to add it is copied as it is (engines ignore a malformed one).
fn append_names(sub: &[u8], count: usize, added: &[u8]) -> Option<Vec<u8>> {
    if count == 0 {
        return Some(sub.to_vec());
    }
    if !sub.is_empty() {
        BinaryReader::new(sub, 0).read_var_u32().ok()?;
    }
    Some(append_items(sub, count, added, false))
}

/// A parsed name map in the encoder's form, or `None` if it is malformed.
fn name_map(map: wasmparser::NameMap<'_>) -> Option<wasm_encoder::NameMap> {
    let mut out = wasm_encoder::NameMap::new();
    for naming in map {
        let naming = naming.ok()?;
        out.append(naming.index, naming.name);
    }
    Some(out)
}

fn encoded(item: &impl Encode) -> Vec<u8> {
    let mut out = Vec::new();
    item.encode(&mut out);
    out
}

/// Name-map entries (index, name) in the binary form, and how many there are.
fn encode_names(entries: impl Iterator<Item = (u32, String)>) -> (usize, Vec<u8>) {
    let mut count = 0;
    let mut bytes = Vec::new();
    for (index, name) in entries {
        index.encode(&mut bytes);
        name.as_str().encode(&mut bytes);
        count += 1;
    }
    (count, bytes)
}
