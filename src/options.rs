//! What to do: the command line's options as the library takes them.
//!
//! `Options` is `#[non_exhaustive]` so that it can grow without breaking callers: build it from
//! `Options::default()` with the builder methods (or assign its public fields).

use crate::encoding::Encoding;

/// What to do; the defaults are what the command line does without options.
///
/// ```
/// use wasm_unwind::{Encoding, Options};
///
/// let options = Options::default()
///     .exports(["handle_*"])
///     .encoding(Encoding::Exnref)
///     .abort_guard(false);
/// assert_eq!(options.exports, ["handle_*"]);
/// assert!(!options.abort_guard);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Globs of function exports to wrap; empty means all.
    pub exports: Vec<String>,
    /// Globs of function exports to leave alone.
    pub skip_exports: Vec<String>,
    /// The unwind tag, by index, name or export name, where detection cannot settle it
    /// (without it, several candidates mean wrappers without a tag).
    pub tag: Option<String>,
    /// The shadow stack pointer global, by index, name or export name.
    pub stack_pointer: Option<String>,
    /// The EH encoding, for a module whose code does not show it (without it: exnref).
    pub encoding: Option<Encoding>,
    /// Write a name section even when the input has none.
    pub add_names: bool,
    /// Refuse every entry after a trap (see the `guard` module).
    pub abort_guard: bool,
    /// JS mode: import `wasm_unwind.panic` / `wasm_unwind.terminated` to throw the host's errors.
    pub js: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            exports: Vec::new(),
            skip_exports: Vec::new(),
            tag: None,
            stack_pointer: None,
            encoding: None,
            add_names: false,
            abort_guard: true,
            js: false,
        }
    }
}

/// Builder methods, one per field: each sets its field and returns the options.
impl Options {
    /// Wrap only the function exports matching one of `globs` (`--export`).
    pub fn exports<S: Into<String>>(mut self, globs: impl IntoIterator<Item = S>) -> Self {
        self.exports = globs.into_iter().map(Into::into).collect();
        self
    }

    /// Leave the function exports matching one of `globs` alone (`--skip-export`).
    pub fn skip_exports<S: Into<String>>(mut self, globs: impl IntoIterator<Item = S>) -> Self {
        self.skip_exports = globs.into_iter().map(Into::into).collect();
        self
    }

    /// The unwind tag, by index, name or export name (`--tag`).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// The shadow stack pointer global, by index, name or export name (`--stack-pointer`).
    pub fn stack_pointer(mut self, global: impl Into<String>) -> Self {
        self.stack_pointer = Some(global.into());
        self
    }

    /// The EH encoding, for a module whose code does not show it (`--encoding`).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// Write a name section even when the input has none (`--debuginfo`).
    pub fn add_names(mut self, on: bool) -> Self {
        self.add_names = on;
        self
    }

    /// Refuse every entry after a trap (on by default; `--no-abort-guard` turns it off).
    pub fn abort_guard(mut self, on: bool) -> Self {
        self.abort_guard = on;
        self
    }

    /// JS mode (`--js`).
    pub fn js(mut self, on: bool) -> Self {
        self.js = on;
        self
    }
}
