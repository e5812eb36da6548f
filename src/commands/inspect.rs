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
    let inspection = wasm_unwind::inspect(&super::read(&args.input)?)?;
    if args.json {
        print!("{}", inspection.to_json());
    } else {
        print!("{}", inspection.to_table());
    }
    Ok(())
}
