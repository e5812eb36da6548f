//! The command line as the tests run it: the `wasm-unwind` binary ([`wasm_unwind!`]) launched
//! with arguments and standard input, and what a refused run must look like.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `wasm-unwind` binary of the test that expands it, as a [`Cli`]. A macro because Cargo
/// tells only integration tests and benches where the binary is (`CARGO_BIN_EXE_wasm-unwind`).
#[macro_export]
macro_rules! wasm_unwind {
    () => {
        $crate::cli::Cli::at(env!("CARGO_BIN_EXE_wasm-unwind"))
    };
}

/// The binary under test: every test that needs a real process starts it through here.
#[derive(Clone, Copy, Debug)]
pub struct Cli {
    path: &'static str,
}

impl Cli {
    /// The binary at `path`; tests write [`wasm_unwind!`] instead.
    pub const fn at(path: &'static str) -> Self {
        Cli { path }
    }

    /// Where the binary is, for a test that hands it to a shell, a PATH or a terminal.
    pub fn path(&self) -> &'static Path {
        Path::new(self.path)
    }

    /// A command for the binary, for a test that sets its folder or environment before [`output`].
    pub fn command(&self) -> Command {
        Command::new(self.path)
    }

    /// Runs the binary with `args`, feeding `stdin` (empty when `None`).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&[u8]>) -> Output {
        output(self.command().args(args), stdin)
    }
}

/// Runs `command` with `stdin` fed to it (empty when `None`) and its output captured.
pub fn output(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.unwrap_or_default().to_vec();
    // Feed stdin from a thread so a large input cannot deadlock against a full stdout pipe.
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for the command");
    feeder.join().unwrap();
    output
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file in `dir`, sorted, to show that a failed run left no temporary file behind.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Exit 1, one line `error: ...` containing `needle`, nothing on stdout, `out` untouched and no
/// stray file next to it (`dir` holds at most `in` and `out.wasm`). Panics naming `what`.
pub fn assert_refused(
    output: &Output,
    what: &str,
    needle: &str,
    dir: &Path,
    out: &Path,
    before: &[u8],
) {
    if let Err(problem) = refused(output, needle, dir, out, before) {
        panic!("{what}: {problem}");
    }
}

/// What [`assert_refused`] checks, as a result: the first way the run was not a clean refusal.
pub fn refused(
    output: &Output,
    needle: &str,
    dir: &Path,
    out: &Path,
    before: &[u8],
) -> Result<(), String> {
    let err = stderr(output);
    let check = |ok: bool, problem: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{problem}; stderr:\n{err}"))
        }
    };
    check(output.status.code() == Some(1), "expected exit 1")?;
    check(
        err.lines().count() == 1,
        "expected exactly one line on stderr",
    )?;
    check(
        err.starts_with("error: "),
        "expected it to start with `error: `",
    )?;
    check(
        err.contains(needle),
        &format!("expected the message to name the problem ({needle:?})"),
    )?;
    check(output.stdout.is_empty(), "expected nothing on stdout")?;
    check(
        std::fs::read(out).ok().as_deref() == Some(before),
        "expected the existing output left untouched",
    )?;
    let mut files = vec!["in".to_string(), "out.wasm".to_string()];
    files.retain(|f| dir.join(f).exists());
    check(
        dir_listing(dir) == files,
        "expected no temporary file left behind",
    )
}
