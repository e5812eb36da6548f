//! Scan: validate one function body and record its facts in the same read of its bytes.
//!
//! The validator visits each instruction straight from the bytes, as `wasm-tools validate`
//! does: no `Operator` value is built for it. `Scan` stands between the reader and the
//! validator. For the few instructions a fact is about (calls, throws, table writes, the
//! frame prologue's five), it keeps an `Operator` made from the arguments the reader already
//! decoded, which `Facts::observe` reads once the instruction's end is known; every other
//! instruction goes on to the validator untouched. Building an `Operator` for every
//! instruction and matching it back into the validator cost half of processing a module.

use std::cell::Cell;
use std::ops::Range;

use wasmparser::{
    BinaryReader, FrameKind, FrameStack, FuncValidator, FunctionBody, Operator, ValidatorResources,
    VisitOperator, VisitSimdOperator,
};

use super::{Body, EhUse, FunctionUse, IndirectCall, UseKind};

/// Validates one body and records its calls, throws and EH encoding in the same pass.
pub fn scan_body(
    func: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
) -> Result<Body, wasmparser::BinaryReaderError> {
    // The uses gather in this thread's scratch list, then move to a list of their exact size:
    // growing each body's own list would reallocate it again and again.
    let mut facts = Facts::new(body.range());
    facts.body.uses = USES.take();
    let mut reader = body.get_binary_reader();
    func.read_locals(&mut reader)?;
    reader.set_features(*func.features());
    while !reader.eof() {
        let at = reader.original_position();
        let mut scan = Scan {
            validator: func.visitor(at),
            seen: None,
        };
        reader.visit_operator(&mut scan)??;
        match scan.seen {
            Some(op) => facts.observe(&op, at..reader.original_position()),
            // No fact is about it, but it comes between two of the prologue's.
            None => facts.prologue.seen = 0,
        }
    }
    reader.finish_expression(&func.visitor(reader.original_position()))?;
    let mut scratch = std::mem::take(&mut facts.body.uses);
    facts.body.uses = scratch.as_slice().to_vec();
    scratch.clear();
    USES.set(scratch);
    Ok(facts.body)
}

thread_local! {
    static USES: Cell<Vec<FunctionUse>> = const { Cell::new(Vec::new()) };
}

/// The facts of a body so far.
struct Facts {
    body: Body,
    prologue: FramePrologue,
}

impl Facts {
    fn new(range: Range<usize>) -> Facts {
        Facts {
            body: Body {
                range,
                ..Body::default()
            },
            prologue: FramePrologue::default(),
        }
    }

    /// Takes in the instruction at `bytes`.
    fn observe(&mut self, op: &Operator<'_>, bytes: Range<usize>) {
        if let Some((function, kind)) = named_function(op) {
            // The index follows the one-byte opcode.
            let index_bytes = bytes.start + 1..bytes.end;
            self.body
                .uses
                .push(FunctionUse::new(function, index_bytes, kind));
        }
        if let Some(call) = indirect_call(op, bytes) {
            self.body.indirect_calls.push(call);
        }
        self.body.note(op);
        self.body.llvm_frame |= self.prologue.step(op);
        self.body.eh.note(op);
    }
}

/// The validator's visitor, and the instruction it was just given when a fact is about it.
struct Scan<'a, V> {
    validator: V,
    seen: Option<Operator<'a>>,
}

/// The `Operator` of an instruction that `Facts::observe` reads; `None` for the rest. Every
/// instruction `named_function`, `indirect_call`, `Body::note`, `EhUse::note` and
/// `FramePrologue::step` match must be listed here (the test below holds the two together).
macro_rules! seen {
    (TryTable { $t:ident }) => { Some(Operator::TryTable { try_table: $t.clone() }) };
    (Call $($f:tt)?) => { Some(Operator::Call $($f)?) };
    (ReturnCall $($f:tt)?) => { Some(Operator::ReturnCall $($f)?) };
    (RefFunc $($f:tt)?) => { Some(Operator::RefFunc $($f)?) };
    (CallIndirect $($f:tt)?) => { Some(Operator::CallIndirect $($f)?) };
    (ReturnCallIndirect $($f:tt)?) => { Some(Operator::ReturnCallIndirect $($f)?) };
    (CallRef $($f:tt)?) => { Some(Operator::CallRef $($f)?) };
    (ReturnCallRef $($f:tt)?) => { Some(Operator::ReturnCallRef $($f)?) };
    (Throw $($f:tt)?) => { Some(Operator::Throw $($f)?) };
    (ThrowRef) => { Some(Operator::ThrowRef) };
    (Rethrow $($f:tt)?) => { Some(Operator::Rethrow $($f)?) };
    (Try $($f:tt)?) => { Some(Operator::Try $($f)?) };
    (Catch $($f:tt)?) => { Some(Operator::Catch $($f)?) };
    (CatchAll) => { Some(Operator::CatchAll) };
    (Delegate $($f:tt)?) => { Some(Operator::Delegate $($f)?) };
    (Unreachable) => { Some(Operator::Unreachable) };
    (TableSet $($f:tt)?) => { Some(Operator::TableSet $($f)?) };
    (TableGrow $($f:tt)?) => { Some(Operator::TableGrow $($f)?) };
    (TableFill $($f:tt)?) => { Some(Operator::TableFill $($f)?) };
    (TableInit $($f:tt)?) => { Some(Operator::TableInit $($f)?) };
    (TableCopy $($f:tt)?) => { Some(Operator::TableCopy $($f)?) };
    (GlobalGet $($f:tt)?) => { Some(Operator::GlobalGet $($f)?) };
    (GlobalSet $($f:tt)?) => { Some(Operator::GlobalSet $($f)?) };
    (I32Const $($f:tt)?) => { Some(Operator::I32Const $($f)?) };
    (I64Const $($f:tt)?) => { Some(Operator::I64Const $($f)?) };
    (I32Sub) => { Some(Operator::I32Sub) };
    (I64Sub) => { Some(Operator::I64Sub) };
    (LocalTee $($f:tt)?) => { Some(Operator::LocalTee $($f)?) };
    ($other:ident $($f:tt)?) => { None };
}

/// One `visit_*` per instruction: note it if a fact is about it, then validate it.
macro_rules! scan_then_validate {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.seen = seen!($op $({ $($arg),* })?);
                self.validator.$visit($($($arg),*)?)
            }
        )*
    };
}

impl<'a, V> VisitOperator<'a> for Scan<'a, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    type Output = wasmparser::Result<()>;

    // SIMD instructions go to the validator directly: no fact is about them (`seen` stays
    // `None`).
    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        self.validator.simd_visitor()
    }

    wasmparser::for_each_visit_operator!(scan_then_validate);
}

impl<V: FrameStack> FrameStack for Scan<'_, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.validator.current_frame()
    }
}

/// Recognises the prologue LLVM's wasm backend gives a function with a stack frame that calls
/// others: `global.get 0  i32.const N  i32.sub  local.tee L  global.set 0`, N a positive multiple
/// of 16 (frames are 16-byte aligned; i64 on wasm64). It survives stripping (`strip = true`
/// removes the name and producers sections), so it tells LLVM output whose global 0 is the
/// stack pointer where no section does.
#[derive(Default)]
struct FramePrologue {
    /// How many of the five instructions have been seen in a row.
    seen: u8,
}

impl FramePrologue {
    /// Feeds `op`; true when it completes the prologue.
    fn step(&mut self, op: &Operator<'_>) -> bool {
        let aligned = |n: i64| n > 0 && n % 16 == 0;
        let next = match (self.seen, op) {
            (0, Operator::GlobalGet { global_index: 0 }) => 1,
            (1, Operator::I32Const { value }) if aligned((*value).into()) => 2,
            (1, Operator::I64Const { value }) if aligned(*value) => 2,
            (2, Operator::I32Sub | Operator::I64Sub) => 3,
            (3, Operator::LocalTee { .. }) => 4,
            (4, Operator::GlobalSet { global_index: 0 }) => 5,
            (_, Operator::GlobalGet { global_index: 0 }) => 1,
            _ => 0,
        };
        self.seen = next % 5;
        next == 5
    }
}

/// The function `op` calls directly or takes the address of, if any.
fn named_function(op: &Operator<'_>) -> Option<(u32, UseKind)> {
    match *op {
        Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
            Some((function_index, UseKind::Call))
        }
        Operator::RefFunc { function_index } => Some((function_index, UseKind::RefFunc)),
        _ => None,
    }
}

/// The table call `op` makes, if it is one; `bytes` is where the instruction is.
fn indirect_call(op: &Operator<'_>, bytes: Range<usize>) -> Option<IndirectCall> {
    let (type_index, table, tail) = match *op {
        Operator::CallIndirect {
            type_index,
            table_index,
        } => (type_index, table_index, false),
        Operator::ReturnCallIndirect {
            type_index,
            table_index,
        } => (type_index, table_index, true),
        _ => return None,
    };
    Some(IndirectCall {
        table,
        type_index,
        tail,
        bytes,
    })
}

impl Body {
    /// What `op` tells of the body beyond the functions it names (`named_function`).
    fn note(&mut self, op: &Operator<'_>) {
        match *op {
            Operator::CallIndirect { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. } => self.calls_indirectly = true,
            Operator::Throw { tag_index } => self.throws.push(tag_index),
            Operator::ThrowRef | Operator::Rethrow { .. } => self.rethrows = true,
            Operator::Unreachable => self.has_unreachable = true,
            Operator::TableSet { table } => self.table_writes.push((table, "table.set")),
            Operator::TableGrow { table } => self.table_writes.push((table, "table.grow")),
            Operator::TableFill { table } => self.table_writes.push((table, "table.fill")),
            Operator::TableInit { table, .. } => self.table_writes.push((table, "table.init")),
            Operator::TableCopy { dst_table, .. } => {
                self.table_writes.push((dst_table, "table.copy"))
            }
            _ => {}
        }
    }
}

impl EhUse {
    /// Which encoding `op` belongs to, if it is an exception-handling instruction.
    fn note(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Throw { .. } => self.throw = true,
            Operator::TryTable { .. } | Operator::ThrowRef => self.exnref = true,
            Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
            | Operator::Rethrow { .. } => self.legacy = true,
            _ => {}
        }
    }
}

/// The calls and `ref.func`s of a body the tool built (`bytes`: locals and code), with offsets
/// into `bytes`. The body is ours, so it decodes.
pub fn function_uses(bytes: &[u8]) -> Vec<FunctionUse> {
    let body = FunctionBody::new(BinaryReader::new(bytes, 0));
    let mut ops = body.get_operators_reader().expect("our bodies decode");
    let mut uses = Vec::new();
    while !ops.eof() {
        let (op, at) = ops.read_with_offset().expect("our bodies decode");
        let Some((function, kind)) = named_function(&op) else {
            continue;
        };
        uses.push(FunctionUse::new(
            function,
            at + 1..ops.original_position(),
            kind,
        ));
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts `scan_body` records, against the same `observe` fed every instruction as a
    /// decoded `Operator`: they differ when `seen!` misses an instruction a fact is about.
    #[test]
    fn scanning_records_what_decoding_every_instruction_records() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
        let mut bodies = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "wasm") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let module = super::super::load(&bytes).unwrap();
            for scanned in &module.bodies {
                let reader = BinaryReader::new(&bytes[scanned.range.clone()], scanned.range.start);
                let mut ops = FunctionBody::new(reader).get_operators_reader().unwrap();
                let mut decoded = Facts::new(scanned.range.clone());
                while !ops.eof() {
                    let (op, at) = ops.read_with_offset().unwrap();
                    decoded.observe(&op, at..ops.original_position());
                }
                let (scanned, decoded) = (format!("{scanned:?}"), format!("{:?}", decoded.body));
                assert_eq!(scanned, decoded, "{}", path.display());
                bodies += 1;
            }
        }
        assert!(bodies > 1000, "only {bodies} bodies");
    }
}
