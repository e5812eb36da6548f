//! The `wasm-unwind` command line. Each subcommand lives in `commands/`; the library does the work.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Contain Rust panics at every export of a wasm32 module and make aborts final.
///
/// Reads a module built with panic=unwind and WebAssembly exception handling, wraps each
/// exported function so that a panic leaves as an ordinary exception with the shadow stack
/// restored, and guards the instance so that after any trap every later call is refused.
#[derive(Parser, Debug)]
#[command(
    name = "wasm-unwind",
    version,
    after_help = commands::process::EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    process: commands::process::Args,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show a module's EH encoding, unwind tag, stack pointer, and what each export can do.
    Inspect(commands::inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Inspect(args)) => commands::inspect::run(args),
        None => commands::process::run(&cli.process),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Nothing is listening any more: say nothing, and fail as wasm-tools does.
        Err(commands::Error::BrokenPipe) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
