//! `wasm-unwind inspect FILE`: what a module is and what each export can do.

use std::path::PathBuf;

use super::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Module to inspect (.wasm or .wat); `-` reads standard input.
    input: PathBuf,

    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), Error> {
    let inspection =
        wasm_unwind::inspect(&super::read(&args.input)?).map_err(super::about(&args.input))?;
    let text = if args.json {
        inspection.to_json()
    } else {
        inspection.to_table()
    };
    super::to_stdout(text.as_bytes())
}
