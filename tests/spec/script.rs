//! A `.wast` file as a list of steps, each with its line: every module already encoded to its
//! binary, so the three runs of a file (unprocessed, and processed in two modes) share one parse.

use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet};

/// One directive of a script.
pub struct Step<'a> {
    pub line: usize,
    pub what: What<'a>,
}

pub enum What<'a> {
    /// `(module $name ...)`: instantiate now (`instantiate`) or only define (`module definition`).
    Module {
        name: Option<&'a str>,
        wasm: Vec<u8>,
        instantiate: bool,
    },
    /// `(module instance $i $m)`.
    Instance {
        name: Option<&'a str>,
        module: Option<&'a str>,
    },
    Register {
        as_: &'a str,
        module: Option<&'a str>,
    },
    Run {
        exec: Exec<'a>,
        expect: Expect<'a>,
    },
    /// `assert_unlinkable`.
    Unlinkable {
        wasm: Vec<u8>,
    },
    /// An `assert_invalid` / `assert_malformed` module that has a binary form.
    Refused {
        wasm: Vec<u8>,
    },
    /// What no run checks: text-only malformed modules, custom-section assertions, components.
    Ignored,
}

pub enum Exec<'a> {
    Invoke(WastInvoke<'a>),
    Get {
        module: Option<&'a str>,
        global: &'a str,
    },
    /// `(assert_trap (module ...))`: instantiation that traps.
    Instantiate(Vec<u8>),
}

pub enum Expect<'a> {
    /// A bare `(invoke ...)`: it must not fail.
    Nothing,
    Return(Vec<WastRet<'a>>),
    Trap,
    Exhaustion,
    Exception,
}

/// Parses a script; `text` is its source (for line numbers), `buf` its lexer buffer.
pub fn parse<'a>(file: &str, text: &str, buf: &'a ParseBuffer<'a>) -> Vec<Step<'a>> {
    let wast: Wast<'a> = parser::parse(buf).unwrap_or_else(|e| panic!("{file}: {e}"));
    let line = |offset: usize| text[..offset].matches('\n').count() + 1;
    let steps = wast.directives.into_iter();
    steps
        .map(|d| Step {
            line: line(d.span().offset()),
            what: what(d),
        })
        .collect()
}

/// A lexer buffer for `text`; `names.wast` uses confusable Unicode on purpose.
pub fn buffer<'a>(file: &str, text: &'a str) -> ParseBuffer<'a> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(file.ends_with("names.wast"));
    ParseBuffer::new_with_lexer(lexer).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn what(directive: WastDirective<'_>) -> What<'_> {
    match directive {
        WastDirective::Module(m) if is_core(&m) => module(m, true),
        WastDirective::ModuleDefinition(m) if is_core(&m) => module(m, false),
        WastDirective::ModuleInstance {
            instance, module, ..
        } => What::Instance {
            name: instance.map(|i| i.name()),
            module: module.map(|i| i.name()),
        },
        WastDirective::Register { name, module, .. } => What::Register {
            as_: name,
            module: module.map(|i| i.name()),
        },
        WastDirective::Invoke(invoke) => run(Exec::Invoke(invoke), Expect::Nothing),
        WastDirective::AssertReturn { exec, results, .. } => {
            run_exec(exec, Expect::Return(results))
        }
        WastDirective::AssertTrap { exec, .. } => run_exec(exec, Expect::Trap),
        WastDirective::AssertExhaustion { call, .. } => run(Exec::Invoke(call), Expect::Exhaustion),
        WastDirective::AssertException { exec, .. } => run_exec(exec, Expect::Exception),
        WastDirective::AssertUnlinkable { mut module, .. } => match module.encode() {
            Ok(wasm) => What::Unlinkable { wasm },
            Err(_) => What::Ignored,
        },
        WastDirective::AssertInvalid { mut module, .. }
        | WastDirective::AssertMalformed { mut module, .. }
            if is_core(&module) =>
        {
            // A module with no binary form (`module quote` text that does not parse) is text-only.
            match module.encode() {
                Ok(wasm) => What::Refused { wasm },
                Err(_) => What::Ignored,
            }
        }
        _ => What::Ignored,
    }
}

fn module(mut m: QuoteWat<'_>, instantiate: bool) -> What<'_> {
    let name = match &m {
        QuoteWat::Wat(wast::Wat::Module(m)) => m.id.map(|i| i.name()),
        _ => None,
    };
    let wasm = m
        .encode()
        .unwrap_or_else(|e| panic!("a module of the script does not encode: {e}"));
    What::Module {
        name,
        wasm,
        instantiate,
    }
}

fn is_core(m: &QuoteWat) -> bool {
    !matches!(
        m,
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(wast::Wat::Component(_))
    )
}

fn run<'a>(exec: Exec<'a>, expect: Expect<'a>) -> What<'a> {
    What::Run { exec, expect }
}

fn run_exec<'a>(exec: WastExecute<'a>, expect: Expect<'a>) -> What<'a> {
    match exec {
        WastExecute::Invoke(i) => run(Exec::Invoke(i), expect),
        WastExecute::Get { module, global, .. } => run(
            Exec::Get {
                module: module.map(|i| i.name()),
                global,
            },
            expect,
        ),
        WastExecute::Wat(mut w) => match w.encode() {
            Ok(wasm) => run(Exec::Instantiate(wasm), expect),
            Err(e) => panic!("a module of the script does not encode: {e}"),
        },
    }
}
