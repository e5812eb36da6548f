//! The two encodings of exception handling. A module keeps the one it came in: engines reject
//! modules that mix them.

use std::fmt;
use std::str::FromStr;

/// How exceptions are encoded in the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The standardized form: `try_table`, `catch_ref`, `throw_ref`.
    Exnref,
    /// The legacy form: `try`, `catch`, `catch_all`, `rethrow`, `delegate`.
    Legacy,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Exnref => "exnref",
            Encoding::Legacy => "legacy",
        })
    }
}

impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exnref" => Ok(Encoding::Exnref),
            "legacy" => Ok(Encoding::Legacy),
            _ => Err(format!("expected `exnref` or `legacy`, got `{s}`")),
        }
    }
}
