//! Generated modules: wasm-smith modules (exnref; legacy, translated from exnref since
//! wasm-smith 0.254 only generates exnref; each with and without a Rust-like `__stack_pointer`
//! global and `(param i32)` tag), from a deterministic RNG or a fuzzer's bytes.

use arbitrary::Unstructured;
use wasm_encoder::reencode::Reencode;
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

/// A small deterministic RNG (SplitMix64).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// wasm-smith's configuration: small modules with exceptions, everything exported, and only
/// proposals both Wasmtime and the tool handle (no threads, no shared-everything).
pub fn smith_config(u: &mut Unstructured<'_>) -> wasm_smith::Config {
    let mut c = wasm_smith::Config::default();
    c.exceptions_enabled = true;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.custom_descriptors_enabled = false;
    c.export_everything = true;
    c.min_funcs = 1;
    c.max_funcs = 20;
    c.max_instructions = 200;
    c.max_types = 30;
    c.max_globals = 10;
    c.max_tags = 6;
    c.max_imports = 10;
    c.max_data_segments = 8;
    c.max_element_segments = 8;
    c.max_elements = 20;
    c.max_tables = 2;
    c.max_memories = 2;
    c.max_memory32_bytes = 1 << 20;
    c.max_memory64_bytes = 1 << 20;
    c.max_table_elements = 1000;
    c.memory_max_size_required = true;
    c.table_max_size_required = true;
    c.disallow_traps = u.arbitrary().unwrap_or(false);
    c.gc_enabled = u.arbitrary().unwrap_or(true);
    c.simd_enabled = u.arbitrary().unwrap_or(true);
    c.relaxed_simd_enabled = c.simd_enabled;
    c
}

/// A wasm-smith module from the bytes of `u`.
pub fn smith(u: &mut Unstructured<'_>) -> Option<Vec<u8>> {
    let config = smith_config(u);
    let module = wasm_smith::Module::new(config, u).ok()?;
    Some(module.to_bytes())
}

/// Adds what a Rust `panic=unwind` build has: a mutable i32 global named `__stack_pointer`
/// (exported as such), a `(param i32)` tag named `__cpp_exception`, an export `rust_panic(i32)`
/// that lowers the stack pointer by 16 and throws, and `rust_try(i32) -> i32` that catches it
/// (so the module's encoding shows). Written as text after the module's own fields, so the
/// text encoder puts each in its section after what is there: no index moves. `None` when the
/// module already has a name section or an export of those names, or does not print as text.
pub fn add_rust_abi(wasm: &[u8]) -> Option<Vec<u8>> {
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ExportSection(r) => {
                for e in r {
                    if matches!(e.ok()?.name, "rust_panic" | "rust_try" | "__stack_pointer") {
                        return None;
                    }
                }
            }
            Payload::CustomSection(c) if c.name() == "name" => return None,
            _ => {}
        }
    }
    let text = wasmprinter::print_bytes(wasm).ok()?;
    let fields = text.trim_end().strip_suffix(')')?;
    let out = wat::parse_str(format!(
        r#"{fields}
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 4096))
  (func $rust_panic (export "rust_panic") (param i32)
    (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (throw $__cpp_exception (local.get 0)))
  (func (export "rust_try") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $__cpp_exception $caught)
        (call $rust_panic (local.get 0)))
      (i32.const -1))))"#
    ))
    .ok()?;
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}

/// Rewrites an exnref module into the legacy encoding: `try_table` with `catch`/`catch_all`
/// clauses becomes `try … catch $t (br L+1) … end`, and the first body starts with an empty
/// `try catch_all end` so that the encoding shows. `None` when the module uses what legacy EH
/// cannot express (`catch_ref`, `catch_all_ref`, `throw_ref`).
pub fn to_legacy(wasm: &[u8]) -> Option<Vec<u8>> {
    struct Legacy {
        ok: bool,
        first: bool,
    }
    impl Reencode for Legacy {
        type Error = std::convert::Infallible;
        fn parse_function_body(
            &mut self,
            code: &mut wasm_encoder::CodeSection,
            func: wasmparser::FunctionBody<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
            use wasm_encoder::Instruction as I;
            let mut f = self.new_function_with_parsed_locals(&func)?;
            if std::mem::take(&mut self.first) {
                f.instruction(&I::Try(wasm_encoder::BlockType::Empty))
                    .instruction(&I::CatchAll)
                    .instruction(&I::End);
            }
            // One entry per open block: the catches of a try_table, or None.
            let mut frames: Vec<Option<Vec<wasmparser::Catch>>> = Vec::new();
            let mut reader = func.get_operators_reader()?;
            while !reader.eof() {
                let op = reader.read()?;
                match op {
                    Operator::TryTable { try_table } => {
                        let bt = self.block_type(try_table.ty)?;
                        f.instruction(&I::Try(bt));
                        frames.push(Some(try_table.catches));
                    }
                    Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                        frames.push(None);
                        f.instruction(&self.instruction(op)?);
                    }
                    Operator::End => {
                        if let Some(Some(catches)) = frames.pop() {
                            for catch in catches {
                                match catch {
                                    wasmparser::Catch::One { tag, label } => {
                                        f.instruction(&I::Catch(tag))
                                            .instruction(&I::Br(label + 1));
                                    }
                                    wasmparser::Catch::All { label } => {
                                        f.instruction(&I::CatchAll).instruction(&I::Br(label + 1));
                                        break;
                                    }
                                    _ => self.ok = false,
                                }
                            }
                        }
                        f.instruction(&I::End);
                    }
                    Operator::ThrowRef => {
                        self.ok = false;
                        f.instruction(&I::Unreachable);
                    }
                    op => {
                        f.instruction(&self.instruction(op)?);
                    }
                }
            }
            code.function(&f);
            Ok(())
        }
    }
    let mut legacy = Legacy {
        ok: true,
        first: true,
    };
    let mut module = wasm_encoder::Module::new();
    legacy
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .ok()?;
    if !legacy.ok {
        return None;
    }
    let out = module.finish();
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}
