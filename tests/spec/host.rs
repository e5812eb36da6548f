//! The `spectest` module every script may import from: print functions that do nothing,
//! globals holding 666, a table of 10 funcrefs (max 20), a memory of 1 page (max 2) and a
//! shared one, as the spec interpreter defines them.

use wasmtime::{
    Global, GlobalType, Linker, Memory, MemoryType, Mutability, Ref, RefType, SharedMemory, Store,
    Table, TableType, Val, ValType,
};

pub fn link(linker: &mut Linker<()>, store: &mut Store<()>) -> wasmtime::Result<()> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let ty = GlobalType::new(ty, Mutability::Const);
        let global = Global::new(&mut *store, ty, val)?;
        linker.define(&mut *store, "spectest", name, global)?;
    }
    let table = Table::new(
        &mut *store,
        TableType::new(RefType::FUNCREF, 10, Some(20)),
        Ref::Func(None),
    )?;
    linker.define(&mut *store, "spectest", "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&mut *store, "spectest", "memory", memory)?;
    let shared = SharedMemory::new(store.engine(), MemoryType::shared(1, 2))?;
    linker.define(&mut *store, "spectest", "shared_memory", shared)?;
    Ok(())
}
