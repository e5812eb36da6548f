//! One file per subcommand (processing a module is the default command), and what they share:
//! reading the input, writing to standard output, and the binary's errors.

pub mod check;
pub mod inspect;
pub mod process;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

/// What stops a command. The library's errors are about the module; this adds which file they
/// are about, and the binary's own I/O.
#[derive(Debug)]
pub enum Failure {
    /// A problem with the module in `file`, or with an option against it.
    Module {
        file: String,
        error: wasm_unwind::Error,
    },
    Read {
        file: String,
        error: io::Error,
    },
    Write {
        file: String,
        error: io::Error,
    },
    /// `--check`: processing with these options would change `file`.
    WouldChange {
        file: String,
        why: String,
    },
    /// Arguments that cannot work together, or output that would do harm where it goes.
    Refused(&'static str),
    /// Standard output was closed early (`| head`): end quietly, as wasm-tools does.
    BrokenPipe,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Module { file, error } => write!(f, "{file}: {error}"),
            Failure::Read { file, error } => write!(f, "cannot read {file}: {error}"),
            Failure::Write { file, error } => write!(f, "cannot write {file}: {error}"),
            Failure::WouldChange { file, why } => write!(f, "{file}: {why}"),
            Failure::Refused(why) => f.write_str(why),
            Failure::BrokenPipe => Ok(()),
        }
    }
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
pub fn about(path: &Path) -> impl Fn(wasm_unwind::Error) -> Failure + '_ {
    move |error| Failure::Module {
        file: name(path, "<stdin>"),
        error,
    }
}

/// Reads a file, or standard input for `-`.
pub fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    result.map_err(|error| Failure::Read {
        file: name(path, "<stdin>"),
        error,
    })?;
    Ok(bytes)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error to report.
pub fn to_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            io::ErrorKind::BrokenPipe => Failure::BrokenPipe,
            _ => Failure::Write {
                file: "<stdout>".to_string(),
                error,
            },
        })
}
