//! Values of a `.wast` script in Wasmtime: arguments built from `(i32.const 1)` and the like,
//! results matched against the spec's patterns (`nan:canonical`, `ref.extern 1`, `either`), and
//! a result's exact bits, which the processed run must reproduce.

use wasmtime::{AnyRef, AsContextMut, ExternRef, HeapType, Ref, Store, Val, ValType};
use wast::core::{NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// The value of `arg` for a parameter of type `ty` (nulls take the parameter's heap type).
pub fn arg(store: &mut Store<()>, arg: &WastArg, ty: &ValType) -> Result<Val, String> {
    let WastArg::Core(core) = arg else {
        return Err("component argument".into());
    };
    Ok(match core {
        WastArgCore::I32(x) => Val::I32(*x),
        WastArgCore::I64(x) => Val::I64(*x),
        WastArgCore::F32(x) => Val::F32(x.bits),
        WastArgCore::F64(x) => Val::F64(x.bits),
        WastArgCore::V128(x) => Val::V128(u128::from_le_bytes(x.to_le_bytes()).into()),
        WastArgCore::RefNull(_) => match ty {
            ValType::Ref(r) => Val::from(Ref::null(r.heap_type())),
            _ => return Err(format!("ref.null for a {ty} parameter")),
        },
        WastArgCore::RefExtern(n) | WastArgCore::RefHost(n) => host_ref(store, *n, ty)?,
    })
}

/// The host reference `n`: an externref holding `n`, internalised (`any.convert_extern`) when
/// the parameter is an anyref, as `ref.host` is in the GC scripts.
fn host_ref(store: &mut Store<()>, n: u32, ty: &ValType) -> Result<Val, String> {
    let r = ExternRef::new(store.as_context_mut(), n).map_err(|e| e.to_string())?;
    let is_any = matches!(ty, ValType::Ref(r) if matches!(r.heap_type().top(), HeapType::Any));
    if !is_any {
        return Ok(Val::ExternRef(Some(r)));
    }
    let any = AnyRef::convert_extern(store.as_context_mut(), r).map_err(|e| e.to_string())?;
    Ok(Val::AnyRef(Some(any)))
}

/// Whether `val` matches the spec's pattern `ret`.
pub fn matches(store: &mut Store<()>, ret: &WastRet, val: &Val) -> bool {
    match ret {
        WastRet::Core(core) => matches_core(store, core, val),
        _ => false,
    }
}

fn matches_core(store: &mut Store<()>, ret: &WastRetCore, val: &Val) -> bool {
    match (ret, val) {
        (WastRetCore::I32(x), Val::I32(y)) => x == y,
        (WastRetCore::I64(x), Val::I64(y)) => x == y,
        (WastRetCore::F32(p), Val::F32(bits)) => f32_matches(p, *bits),
        (WastRetCore::F64(p), Val::F64(bits)) => f64_matches(p, *bits),
        (WastRetCore::V128(p), Val::V128(v)) => v128_matches(p, v.as_u128()),
        (WastRetCore::Either(cases), _) => cases.iter().any(|c| matches_core(store, c, val)),
        (_, Val::FuncRef(f)) => func_ref_matches(ret, f.is_some()),
        (_, Val::ExternRef(r)) => extern_matches(store, ret, r.as_ref()),
        (_, Val::AnyRef(r)) => any_matches(store, ret, r.as_ref()),
        (WastRetCore::RefNull(_), Val::ExnRef(r)) => r.is_none(),
        _ => false,
    }
}

fn func_ref_matches(ret: &WastRetCore, non_null: bool) -> bool {
    match ret {
        WastRetCore::RefNull(_) => !non_null,
        WastRetCore::RefFunc(_) => non_null,
        _ => false,
    }
}

fn extern_matches(
    store: &mut Store<()>,
    ret: &WastRetCore,
    r: Option<&wasmtime::Rooted<ExternRef>>,
) -> bool {
    match (ret, r) {
        (WastRetCore::RefNull(_), r) => r.is_none(),
        (WastRetCore::RefExtern(None), r) => r.is_some(),
        (WastRetCore::RefExtern(Some(n)) | WastRetCore::RefHost(n), Some(r)) => {
            extern_payload(store, r) == Some(*n)
        }
        _ => false,
    }
}

fn extern_payload(store: &mut Store<()>, r: &wasmtime::Rooted<ExternRef>) -> Option<u32> {
    let data = r.data(&*store).ok()??;
    data.downcast_ref::<u32>().copied()
}

fn any_matches(
    store: &mut Store<()>,
    ret: &WastRetCore,
    r: Option<&wasmtime::Rooted<AnyRef>>,
) -> bool {
    let Some(r) = r else {
        return matches!(ret, WastRetCore::RefNull(_));
    };
    match ret {
        WastRetCore::RefAny => true,
        WastRetCore::RefEq => r.is_eqref(&*store).unwrap_or(false),
        WastRetCore::RefI31 => r.is_i31(&*store).unwrap_or(false),
        WastRetCore::RefStruct => r.is_struct(&*store).unwrap_or(false),
        WastRetCore::RefArray => r.is_array(&*store).unwrap_or(false),
        // A host reference comes back as an anyref once internalised (`any.convert_extern`).
        WastRetCore::RefHost(n) | WastRetCore::RefExtern(Some(n)) => {
            internal_payload(store, r) == Some(*n)
        }
        WastRetCore::RefExtern(None) => internal_payload(store, r).is_some(),
        _ => false,
    }
}

/// The payload of an internalised host reference (None for Wasm's own anyrefs).
fn internal_payload(store: &mut Store<()>, r: &wasmtime::Rooted<AnyRef>) -> Option<u32> {
    let external = ExternRef::convert_any(store.as_context_mut(), *r).ok()?;
    extern_payload(store, &external)
}

fn f32_matches(p: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    let nan = bits & 0x7fff_ffff;
    match p {
        NanPattern::CanonicalNan => nan == 0x7fc0_0000,
        NanPattern::ArithmeticNan => nan & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(p: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    let nan = bits & 0x7fff_ffff_ffff_ffff;
    match p {
        NanPattern::CanonicalNan => nan == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => nan & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn v128_matches(p: &V128Pattern, v: u128) -> bool {
    let b = v.to_le_bytes();
    let lane32 = |i: usize| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
    let lane64 = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    match p {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, x)| b[i] == *x as u8),
        V128Pattern::I16x8(l) => l
            .iter()
            .enumerate()
            .all(|(i, x)| u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]) == *x as u16),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, x)| lane32(i) == *x as u32),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, x)| lane64(i) == *x as u64),
        V128Pattern::F32x4(l) => l.iter().enumerate().all(|(i, p)| f32_matches(p, lane32(i))),
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(p, lane64(i))),
    }
}

/// A result as text, exact to the bit for numbers (NaN payloads included), so that two runs can
/// be compared; references by kind, nullness and (externref) payload.
pub fn bits(store: &mut Store<()>, val: &Val) -> String {
    match val {
        Val::I32(x) => format!("i32:{x:#x}"),
        Val::I64(x) => format!("i64:{x:#x}"),
        Val::F32(x) => format!("f32:{x:#x}"),
        Val::F64(x) => format!("f64:{x:#x}"),
        Val::V128(x) => format!("v128:{:#x}", x.as_u128()),
        Val::FuncRef(f) => format!("funcref:{}", if f.is_some() { "func" } else { "null" }),
        Val::ExternRef(Some(r)) => format!("externref:{:?}", extern_payload(store, r)),
        Val::AnyRef(Some(r)) => {
            let i31 = r.as_i31(&*store).ok().flatten().map(|i| i.get_i32());
            format!("anyref:{i31:?}:{:?}", internal_payload(store, r))
        }
        Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => "null".into(),
        Val::ExnRef(Some(_)) => "exnref".into(),
        Val::ContRef(_) => "contref".into(),
    }
}
