//! `wasm-unwind INPUT -o OUTPUT`: process a module (the default command).

use std::borrow::Cow;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tempfile::NamedTempFile;
use wasm_unwind::{Encoding, Inspection, Note, Options, Processed, Report};

use super::{Error, about, name};

pub const EXAMPLES: &str = "\
Examples:
  # After cargo build, in place of the module you ship:
  RUSTFLAGS=\"-Cpanic=unwind\" cargo +nightly build --release \\
      --target wasm32-unknown-unknown -Zbuild-std=std,panic_unwind
  wasm-unwind target/wasm32-unknown-unknown/release/app.wasm -o app.wasm

  # A workers-rs Worker, as wrangler's custom build (wrangler.toml):
  [build]
  command = \"worker-build --release --panic-unwind && wasm-unwind build/index_bg.wasm -o build/index_bg.wasm\"

  # See what would be done, write nothing:
  wasm-unwind app.wasm --dry-run

  # In CI: fail unless the artifact is already processed with these options:
  wasm-unwind app.wasm --check";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input module (.wasm or .wat); `-` reads standard input.
    #[arg(required = true)]
    input: Option<PathBuf>,

    /// Where to write the result; `-` writes standard output. Written only on success.
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present_any = ["dry_run", "check"]
    )]
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

    /// The unwind tag (index, name or export name), where detection finds several; without it
    /// wrappers then catch every exception with no tag.
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,

    /// The shadow stack pointer global (index, name or export name). Default: `__stack_pointer`,
    /// else global 0 in LLVM output.
    #[arg(long, value_name = "GLOBAL")]
    stack_pointer: Option<String>,

    /// The exception-handling encoding, for a module whose code does not show it (default:
    /// exnref).
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
    dry_run: bool,

    /// Write nothing; exit 0 if INPUT is already processed with these options, 1 if processing
    /// would change it (for CI, like `cargo fmt --check`).
    #[arg(long, conflicts_with_all = ["output", "emit_js", "emit_text", "dry_run", "json"])]
    check: bool,

    /// Print what `inspect --json` says of the output, plus what changed, as JSON on stdout.
    #[arg(long)]
    json: bool,

    /// Print nothing but errors (and the JSON asked for with --json).
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(cli: &Args) -> Result<(), Error> {
    let path = cli.input.as_deref().expect("clap requires INPUT");
    let input = super::read(path)?;
    let options = options(cli);
    if let Some(output) = streams_to(cli) {
        let report = replace(output, |file| {
            let report = process_into(file, path, output, &input, &options)?;
            write_glue(cli)?;
            Ok(report)
        })?;
        if !cli.quiet {
            eprint!("{}", describe(&report, false));
        }
        return Ok(());
    }
    let processed = wasm_unwind::process(&input, &options).map_err(about(path))?;
    let report = &processed.report;
    if cli.check {
        return super::check::verdict(&input, &processed, &options).map_err(|why| {
            Error::WouldChange {
                file: name(path, "<stdin>"),
                why,
            }
        });
    }
    let output = cli.output.as_deref().filter(|_| !cli.dry_run);
    if cli.json {
        if output == Some(Path::new("-")) {
            return Err(Error::Refused(
                "--json prints on standard output, which -o - takes: write the module to a file",
            ));
        }
        let summary = summary(&processed, path, output).map_err(about(path))?;
        write_module(cli, output, &processed.wasm)?;
        return super::to_stdout(summary.as_bytes());
    }
    if cli.dry_run {
        return super::to_stdout(describe(report, true).as_bytes());
    }
    write_module(cli, output, &processed.wasm)?;
    if !cli.quiet {
        eprint!("{}", describe(report, false));
    }
    Ok(())
}

/// The file the module goes to when it is written as it is processed: the usual run, with
/// nothing asked of the whole output first (a check, a summary of it, text, standard output).
fn streams_to(cli: &Args) -> Option<&Path> {
    let plain = !(cli.check || cli.json || cli.dry_run || cli.emit_text);
    cli.output
        .as_deref()
        .filter(|&path| plain && path != Path::new("-"))
}

/// Processes `input` into `file` as the output is written and validated: a large module is
/// never held whole. `file` becomes the output only when this returns `Ok` (see `replace`).
fn process_into(
    file: &mut dyn Write,
    input_path: &Path,
    output: &Path,
    input: &[u8],
    options: &Options,
) -> Result<Report, Error> {
    let mut failed = None;
    let report = wasm_unwind::process_to(input, options, &mut |piece| {
        if failed.is_none() {
            failed = file.write_all(piece).err();
        }
    })
    .map_err(about(input_path))?;
    failed.map_or(Ok(report), |error| Err(cannot_write(output)(error)))
}

fn options(cli: &Args) -> Options {
    let mut options = Options::default()
        .exports(&cli.exports)
        .skip_exports(&cli.skip_exports)
        .add_names(cli.debuginfo)
        .abort_guard(!cli.no_abort_guard)
        .js(cli.js || cli.emit_js.is_some());
    options.tag.clone_from(&cli.tag);
    options.stack_pointer.clone_from(&cli.stack_pointer);
    options.encoding = cli.encoding;
    options
}

/// Writes the module (and the JS glue) where asked; `None` is a dry run.
fn write_module(cli: &Args, output: Option<&Path>, wasm: &[u8]) -> Result<(), Error> {
    let Some(path) = output else { return Ok(()) };
    let bytes: Cow<[u8]> = if cli.emit_text {
        let text = wasmprinter::print_bytes(wasm).map_err(|e| Error::Print {
            file: name(path, "<stdout>"),
            why: e.to_string(),
        })?;
        text.into_bytes().into()
    } else if path == Path::new("-") && std::io::stdout().is_terminal() {
        return Err(Error::Refused(
            "cannot write binary WebAssembly to a terminal: pass -S for text, or redirect standard output",
        ));
    } else {
        wasm.into()
    };
    write_glue(cli)?;
    write(path, &bytes)
}

/// Writes the JS glue, when asked, before the module becomes the output: the glue is the same
/// for every module of this version, so when it cannot be written the old module output is
/// still the one that matches the old glue.
fn write_glue(cli: &Args) -> Result<(), Error> {
    match &cli.emit_js {
        Some(glue) => write(glue, wasm_unwind::JS_GLUE.as_bytes()),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path`, or to standard output for `-`.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if path == Path::new("-") {
        return super::to_stdout(bytes);
    }
    replace(path, |file| {
        file.write_all(bytes).map_err(cannot_write(path))
    })
}

/// Has `fill` write a temporary file in the same folder and renames it over `path` once all of
/// it is written, so that a failure never leaves a half-written or clobbered output.
fn replace<T>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, Error>,
) -> Result<T, Error> {
    let error = cannot_write(path);
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = temp_file(folder, path).map_err(error)?;
    let mut buffered = BufWriter::new(&mut file);
    let value = fill(&mut buffered)?;
    buffered.flush().map_err(error)?;
    drop(buffered);
    file.persist(path).map_err(|e| error(e.error))?;
    Ok(value)
}

/// The error of a failed write to `path`.
fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
    move |error| Error::Write {
        file: path.display().to_string(),
        error,
    }
}

/// The temporary file that becomes `output`, with the mode `output` should have: an existing
/// output's own (a 0644 module served by another user stays readable to it), else the usual
/// mode of a new file (0666 less the umask) instead of the temporary file's private 0600.
#[cfg(unix)]
fn temp_file(folder: &Path, output: &Path) -> std::io::Result<NamedTempFile> {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(output) {
        Ok(existing) => {
            let file = NamedTempFile::new_in(folder)?;
            file.as_file().set_permissions(existing.permissions())?;
            Ok(file)
        }
        Err(_) => tempfile::Builder::new()
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(folder),
    }
}

#[cfg(not(unix))]
fn temp_file(folder: &Path, _output: &Path) -> std::io::Result<NamedTempFile> {
    NamedTempFile::new_in(folder)
}

/// `--json`: the output as `inspect --json` describes it, plus what this run changed.
#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    output: Inspection,
    changes: Changes<'a>,
}

#[derive(Serialize)]
struct Changes<'a> {
    input: String,
    /// `null` on a dry run.
    output: Option<String>,
    already_processed: bool,
    input_size: usize,
    output_size: usize,
    wrapped: Vec<&'a str>,
    skipped: Vec<Skipped<'a>>,
    abort_guard: bool,
    import_shims: usize,
    js: bool,
    warnings: &'a [String],
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Skipped<'a> {
    name: &'a str,
    reason: &'a str,
}

fn summary(
    processed: &Processed,
    input: &Path,
    output: Option<&Path>,
) -> Result<String, wasm_unwind::Error> {
    let report = &processed.report;
    let (wrapped, skipped): (Vec<_>, Vec<_>) = report.exports.iter().partition(|e| e.wrapped);
    let summary = Summary {
        output: wasm_unwind::inspect(&processed.wasm)?,
        changes: Changes {
            input: name(input, "-"),
            output: output.map(|o| name(o, "-")),
            already_processed: report.already_processed.is_some(),
            input_size: report.input_size,
            output_size: report.output_size,
            wrapped: wrapped.iter().map(|e| e.name.as_str()).collect(),
            skipped: skipped
                .iter()
                .map(|e| Skipped {
                    name: &e.name,
                    reason: e.reason.unwrap_or("not wrapped"),
                })
                .collect(),
            abort_guard: report.abort_guard,
            import_shims: report.import_shims,
            js: report.js,
            warnings: &report.warnings,
            notes: report.notes.iter().map(|n| n.to_string()).collect(),
        },
    };
    let mut text = serde_json::to_string(&summary).expect("plain data serialises");
    text.push('\n');
    Ok(text)
}

/// The summary (stderr after a run) or the analysis (stdout with `--dry-run`), one
/// `wasm-unwind: ` line a fact, in the order the pipeline settles them.
fn describe(report: &Report, dry_run: bool) -> String {
    let mut lines = Vec::new();
    if let Some(marker) = &report.already_processed {
        lines.push(format!("already processed ({marker}); nothing to do"));
    } else {
        lines.extend(detected(report));
        lines.extend(wrapping(report, dry_run));
        lines.extend(handling(report));
        lines.extend(report.warnings.iter().map(|w| format!("warning: {w}")));
        let delta = report.output_size as i64 - report.input_size as i64;
        lines.push(format!(
            "{} -> {} bytes ({delta:+})",
            report.input_size, report.output_size
        ));
    }
    lines
        .iter()
        .map(|text| format!("wasm-unwind: {text}\n"))
        .collect()
}

/// What detection found in the input: the encoding, the unwind tag, the stack pointer, and a
/// note for each choice made where the input did not settle a question.
fn detected(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    // Several candidate tags: the note says what the wrappers do without one.
    let undecided = (report.notes.iter()).any(|n| matches!(n, Note::UndecidedTag(_)));
    lines.push(match report.encoding {
        Some(encoding) => format!("{encoding} exception handling"),
        None => "no exception handling (a panic=abort build): no unwind can reach an export".into(),
    });
    if let Some(tag) = &report.unwind_tag {
        lines.push(if report.tag_exported {
            format!("unwind tag {tag}, exported as {}", wasm_unwind::TAG_EXPORT)
        } else {
            format!("unwind tag {tag}, which the host already has (imported or exported)")
        });
    } else if report.encoding.is_some() && !undecided {
        lines.push("no Rust unwind tag found; wrappers still catch every exception".into());
    }
    if let Some(sp) = &report.stack_pointer {
        lines.push(format!("stack pointer global {sp}"));
    }
    lines.extend(report.notes.iter().map(|n| format!("note: {n}")));
    lines
}

/// Which exports and tables are (or, on a dry run, would be) wrapped; a dry run also names each
/// export, since that is what a user checks before writing anything.
fn wrapping(report: &Report, dry_run: bool) -> Vec<String> {
    let verb = if dry_run { "would wrap" } else { "wrapped" };
    let total = report.exports.len();
    let mut lines = vec![format!(
        "{verb} {} of {total} function exports",
        report.wrapped()
    )];
    if dry_run {
        lines.extend(report.exports.iter().map(|export| match export.reason {
            None => format!("  wrap {}", export.name),
            Some(reason) => format!("  skip {} ({reason})", export.name),
        }));
    }
    for table in &report.tables {
        let warn = if table.wrapped { "" } else { "warning: " };
        lines.push(format!("{warn}table {}", wasm_unwind::table_text(table)));
    }
    lines
}

/// What happens to a caught panic and after a trap: the runtime, JS mode, the abort guard.
fn handling(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if report.runtime {
        lines.push(format!(
            "runtime linked ({}): caught panics are freed by Rust and their messages kept",
            wasm_unwind::RUNTIME_EXPORT
        ));
    } else if report.unwind_tag.is_some() && report.wrapped() > 0 {
        lines.push("note: linking wasm-unwind-runtime (`use wasm_unwind_runtime as _;`) would free each caught panic and pass its message to the host, and keep the message of a panic that aborts".into());
    }
    if report.js {
        lines.push(format!(
            "JS mode: imports `{}.panic` and `{0}.terminated` (provided by --emit-js)",
            wasm_unwind::JS_IMPORT_MODULE
        ));
    }
    lines.push(if report.abort_guard {
        let program = match (report.shared_word, report.dynamically_linked) {
            (true, false) => "; an abort ends every instance over the memory (__wasm_unwind_terminated)",
            (true, true) => "; an abort ends every linked module with the runtime (GOT.mem.__wasm_unwind_terminated)",
            (false, _) => "",
        };
        format!(
            "abort guard on: calls refused after a trap, state in {}; {} import call targets guarded{program}",
            wasm_unwind::STATE_EXPORT,
            report.import_shims
        )
    } else {
        "abort guard off".into()
    });
    lines
}
