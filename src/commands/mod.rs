//! One file per subcommand (processing a module is the default command), and what they share:
//! reading the input, writing to standard output, and the binary's errors.

pub mod check;
pub mod inspect;
pub mod process;

use std::io::{self, Read, Write};
use std::path::Path;

/// What stops a command. The library's errors are about the module; this adds which file they
/// are about, and the binary's own I/O.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with the module in `file`, or with an option against it.
    #[error("{file}: {error}")]
    Module {
        file: String,
        error: wasm_unwind::Error,
    },
    #[error("cannot read {file}: {error}")]
    Read { file: String, error: io::Error },
    #[error("cannot write {file}: {error}")]
    Write { file: String, error: io::Error },
    #[error("{file}: cannot print the output as WebAssembly text: {why}")]
    Print { file: String, why: String },
    /// `--check`: processing with these options would change `file`.
    #[error("{file}: {why}")]
    WouldChange { file: String, why: String },
    /// Arguments that cannot work together, or output that would do harm where it goes.
    #[error("{0}")]
    Refused(&'static str),
    /// Standard output was closed early (`| head`): end quietly, as wasm-tools does.
    #[error("")]
    BrokenPipe,
}

/// How a path is named in messages: `-` is standard input or output.
pub fn name(path: &Path, stream: &str) -> String {
    if path == Path::new("-") {
        stream.to_string()
    } else {
        path.display().to_string()
    }
}

/// The library's error about the module read from `path`.
pub fn about(path: &Path) -> impl Fn(wasm_unwind::Error) -> Error + '_ {
    move |error| Error::Module {
        file: name(path, "<stdin>"),
        error,
    }
}

/// Reads a file, or standard input for `-`.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    result.map_err(|error| Error::Read {
        file: name(path, "<stdin>"),
        error,
    })?;
    Ok(bytes)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error to report.
pub fn to_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            io::ErrorKind::BrokenPipe => Error::BrokenPipe,
            _ => Error::Write {
                file: "<stdout>".to_string(),
                error,
            },
        })
}
