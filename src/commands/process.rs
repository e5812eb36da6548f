//! `wasm-unwind INPUT -o OUTPUT`: process a module (the default command).

use std::io::Write;
use std::path::{Path, PathBuf};

use wasm_unwind::{Encoding, Options, Report};

use super::Error;

pub const EXAMPLES: &str = "\
Examples:
  # After cargo build, in place of the module you ship:
  RUSTFLAGS=\"-Cpanic=unwind\" cargo +nightly build --release \\
      --target wasm32-unknown-unknown -Zbuild-std=std,panic_unwind
  wasm-unwind target/wasm32-unknown-unknown/release/app.wasm -o app.wasm

  # As a Cloudflare wrangler custom build (wrangler.toml):
  [build]
  command = \"cargo build --release --target wasm32-unknown-unknown && wasm-unwind target/wasm32-unknown-unknown/release/app.wasm -o build/app.wasm\"

  # See what would be done, write nothing:
  wasm-unwind app.wasm --check";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input module (.wasm or .wat); `-` reads standard input.
    #[arg(required = true)]
    input: Option<PathBuf>,

    /// Where to write the result; `-` writes standard output. Written only on success.
    #[arg(short, long, value_name = "FILE", required_unless_present = "check")]
    output: Option<PathBuf>,

    /// Write WebAssembly text instead of binary.
    #[arg(short = 'S', long)]
    emit_text: bool,

    /// Add a name section naming the added functions even when the input has none.
    /// Names already in the input are always kept (the default when it has them).
    #[arg(short = 'g', long)]
    debuginfo: bool,

    /// Wrap only function exports matching GLOB (`*`, `?`); repeatable. Default: all.
    #[arg(long = "export", value_name = "GLOB")]
    exports: Vec<String>,

    /// Leave function exports matching GLOB unwrapped; repeatable.
    #[arg(long = "skip-export", value_name = "GLOB")]
    skip_exports: Vec<String>,

    /// The Rust unwind tag (index or name), where detection finds several.
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,

    /// The shadow stack pointer global (index or name). Default: `__stack_pointer`, else global 0.
    #[arg(long, value_name = "GLOBAL")]
    stack_pointer: Option<String>,

    /// The exception-handling encoding, for a module whose code does not show it.
    #[arg(long, value_name = "exnref|legacy")]
    encoding: Option<Encoding>,

    /// Do not refuse calls after a trap (leaves out the abort guard).
    #[arg(long)]
    no_abort_guard: bool,

    /// JS mode: exports throw the host's PanicError / TerminatedError through imports from
    /// `wasm_unwind`, which the module from --emit-js provides.
    #[arg(long)]
    js: bool,

    /// Write the ES module that provides the `wasm_unwind` imports and a loader to FILE
    /// (implies --js).
    #[arg(long, value_name = "FILE")]
    emit_js: Option<PathBuf>,

    /// Analyse and print what would be done; write nothing.
    #[arg(long)]
    check: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(cli: &Args) -> Result<(), Error> {
    let input = super::read(cli.input.as_deref().expect("clap requires INPUT"))?;
    let options = Options {
        exports: cli.exports.clone(),
        skip_exports: cli.skip_exports.clone(),
        tag: cli.tag.clone(),
        stack_pointer: cli.stack_pointer.clone(),
        encoding: cli.encoding,
        add_names: cli.debuginfo,
        abort_guard: !cli.no_abort_guard,
        js: cli.js || cli.emit_js.is_some(),
    };
    let processed = wasm_unwind::process(&input, &options)?;
    let report = &processed.report;
    if cli.check {
        print!("{}", describe(report, true));
        return Ok(());
    }
    let output = if cli.emit_text {
        let text =
            wasmprinter::print_bytes(&processed.wasm).map_err(|e| Error::Print(e.to_string()))?;
        text.into_bytes()
    } else {
        processed.wasm
    };
    let path = cli
        .output
        .as_deref()
        .expect("clap requires --output without --check");
    write(path, &output)?;
    if let Some(glue) = &cli.emit_js {
        write(glue, wasm_unwind::JS_GLUE.as_bytes())?;
    }
    if !cli.quiet {
        eprint!("{}", describe(report, false));
    }
    Ok(())
}

/// Writes through a temporary file in the same folder and renames it over `path`, so that a
/// failure never leaves a half-written or clobbered output.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(error);
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(error)?;
    file.write_all(bytes).map_err(error)?;
    file.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

/// The summary (stderr after a run) or the analysis (stdout with `--check`).
fn describe(report: &Report, check: bool) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str("wasm-unwind: ");
        out.push_str(&text);
        out.push('\n');
    };
    if let Some(marker) = &report.already_processed {
        line(format!("already processed ({marker}); nothing to do"));
        return out;
    }
    match report.encoding {
        Some(encoding) => line(format!("{encoding} exception handling")),
        None => line(
            "no exception handling (a panic=abort build): no unwind can reach an export".into(),
        ),
    }
    if let Some(tag) = &report.unwind_tag {
        line(format!(
            "unwind tag {tag}, exported as {}",
            wasm_unwind::TAG_EXPORT
        ));
    } else if report.encoding.is_some() {
        line("no Rust unwind tag found; wrappers still catch every exception".into());
    }
    if let Some(sp) = &report.stack_pointer {
        line(format!("stack pointer global {sp}"));
    }
    let verb = if check { "would wrap" } else { "wrapped" };
    let total = report.exports.len();
    line(format!(
        "{verb} {} of {total} function exports",
        report.wrapped()
    ));
    if check {
        for export in &report.exports {
            match export.reason {
                None => line(format!("  wrap {}", export.name)),
                Some(reason) => line(format!("  skip {} ({reason})", export.name)),
            }
        }
    }
    if report.runtime {
        line(format!(
            "runtime linked ({}): caught panics are freed by Rust and their messages kept",
            wasm_unwind::RUNTIME_EXPORT
        ));
    } else if report.unwind_tag.is_some() && report.wrapped() > 0 {
        line("note: linking wasm-unwind-runtime (`use wasm_unwind_runtime as _;`) would free each caught panic and pass its message to the host".into());
    }
    if report.js {
        line(format!(
            "JS mode: imports `{}.panic` and `{0}.terminated` (provided by --emit-js)",
            wasm_unwind::JS_IMPORT_MODULE
        ));
    }
    if report.abort_guard {
        line(format!(
            "abort guard on: calls refused after a trap, state in {}; {} import call targets guarded",
            wasm_unwind::STATE_EXPORT,
            report.import_shims
        ));
    } else {
        line("abort guard off".into());
    }
    for warning in &report.warnings {
        line(format!("warning: {warning}"));
    }
    let delta = report.output_size as i64 - report.input_size as i64;
    line(format!(
        "{} -> {} bytes ({delta:+})",
        report.input_size, report.output_size
    ));
    out
}
