//! Marker: the custom section that says a module was processed, and how.
//!
//! A later run reads it to leave the module alone; `inspect` reads that the module is our output
//! (which of its functions are ours it reads from their code, see `shape`: another tool may have
//! renumbered them since).
//! The text is one line of `key=value` fields after the tool's name and version, e.g.
//! `wasm-unwind 0.1.0; encoding=exnref; wrapped=3; abort-guard=on; runtime=absent; js=off;
//! added-from=42`. Functions from `added-from` on were added by the tool.

use std::fmt;
use std::str::FromStr;

use crate::encoding::Encoding;

/// The name of the custom section.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The version of wasm-unwind that wrote it.
    pub version: String,
    pub encoding: Option<Encoding>,
    pub wrapped: usize,
    pub abort_guard: bool,
    pub runtime: bool,
    pub js: bool,
    /// The first function index the tool added (in the output's numbering).
    pub added_from: u32,
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |on: bool| if on { "on" } else { "off" };
        let encoding = self
            .encoding
            .map_or_else(|| "none".to_string(), |e| e.to_string());
        write!(
            f,
            "wasm-unwind {}; encoding={encoding}; wrapped={}; abort-guard={}; runtime={}; js={}; added-from={}",
            self.version,
            self.wrapped,
            on_off(self.abort_guard),
            if self.runtime { "linked" } else { "absent" },
            on_off(self.js),
            self.added_from,
        )
    }
}

/// Why a marker text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMarker(pub String);

impl fmt::Display for BadMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable wasm-unwind marker: {}", self.0)
    }
}

impl FromStr for Marker {
    type Err = BadMarker;

    fn from_str(text: &str) -> Result<Marker, BadMarker> {
        let bad = |what: &str| BadMarker(what.to_string());
        let mut fields = text.split("; ");
        let version = fields
            .next()
            .and_then(|head| head.strip_prefix("wasm-unwind "))
            .ok_or_else(|| bad("no `wasm-unwind <version>` head"))?;
        let mut marker = Marker {
            version: version.to_string(),
            encoding: None,
            wrapped: 0,
            abort_guard: false,
            runtime: false,
            js: false,
            added_from: 0,
        };
        let mut added_from = None;
        for field in fields {
            let (key, value) = field.split_once('=').ok_or_else(|| bad(field))?;
            let flag = |on: &str, off: &str| match value {
                v if v == on => Ok(true),
                v if v == off => Ok(false),
                _ => Err(bad(field)),
            };
            match key {
                "encoding" if value == "none" => marker.encoding = None,
                "encoding" => marker.encoding = Some(value.parse().map_err(|_| bad(field))?),
                "wrapped" => marker.wrapped = value.parse().map_err(|_| bad(field))?,
                "abort-guard" => marker.abort_guard = flag("on", "off")?,
                "runtime" => marker.runtime = flag("linked", "absent")?,
                "js" => marker.js = flag("on", "off")?,
                "added-from" => added_from = Some(value.parse().map_err(|_| bad(field))?),
                // Fields a later version adds are not ours to judge.
                _ => {}
            }
        }
        marker.added_from = added_from.ok_or_else(|| bad("no `added-from`"))?;
        Ok(marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_as_written() {
        let marker = Marker {
            version: "0.1.0".into(),
            encoding: Some(Encoding::Legacy),
            wrapped: 3,
            abort_guard: true,
            runtime: false,
            js: true,
            added_from: 42,
        };
        let text = marker.to_string();
        assert_eq!(
            text,
            "wasm-unwind 0.1.0; encoding=legacy; wrapped=3; abort-guard=on; runtime=absent; js=on; added-from=42"
        );
        assert_eq!(text.parse::<Marker>(), Ok(marker));
    }

    #[test]
    fn a_foreign_text_is_refused() {
        assert!("hello".parse::<Marker>().is_err());
        assert!(
            "wasm-unwind 0.1.0; wrapped=x; added-from=1"
                .parse::<Marker>()
                .is_err()
        );
        assert!("wasm-unwind 0.1.0; wrapped=1".parse::<Marker>().is_err());
    }
}
