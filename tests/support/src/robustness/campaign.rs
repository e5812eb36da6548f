//! The fixed-seed run: a fixed number of cases of every [`Kind`] in turn from one seed, so a
//! seed means the same cases on every machine. Every bug is saved under
//! `target/robustness-failures/` and reported; the caller decides what passing means.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use wasm_unwind::{Encoding, Options};

use super::{Bug, Diff, Outcome, Rng, add_rust_abi, check_case, check_js_mode, smith, to_legacy};

/// Where a case comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    SmithExnref,
    SmithExnrefRust,
    SmithLegacy,
    SmithLegacyRust,
    /// wasm-mutate 0.254 refuses modules with a tag section, so in practice `abort.wasm` and
    /// tag-free generated modules.
    Mutated,
    Truncated,
    BitFlipped,
}

pub const KINDS: [Kind; 7] = [
    Kind::SmithExnref,
    Kind::SmithExnrefRust,
    Kind::SmithLegacy,
    Kind::SmithLegacyRust,
    Kind::Mutated,
    Kind::Truncated,
    Kind::BitFlipped,
];

/// The wasm-smith variants, by their two bits: Rust-like ABI (1) and legacy (2).
pub const SMITH_KINDS: [Kind; 4] = [
    Kind::SmithExnref,
    Kind::SmithExnrefRust,
    Kind::SmithLegacy,
    Kind::SmithLegacyRust,
];

impl Kind {
    /// The encoding a wasm-smith variant is in; `None` for the byte-level kinds.
    fn smith_encoding(self) -> Option<Encoding> {
        match self {
            Kind::SmithExnref | Kind::SmithExnrefRust => Some(Encoding::Exnref),
            Kind::SmithLegacy | Kind::SmithLegacyRust => Some(Encoding::Legacy),
            _ => None,
        }
    }
}

/// A wasm-smith module of variant `kind` from the bytes of `u`; `None` when `u` runs out, or the
/// module has no such variant.
pub fn smith_variant(kind: Kind, u: &mut Unstructured<'_>) -> Option<Vec<u8>> {
    let module = smith(u)?;
    match kind {
        Kind::SmithExnref => Some(module),
        Kind::SmithExnrefRust => add_rust_abi(&module),
        Kind::SmithLegacy => to_legacy(&module),
        Kind::SmithLegacyRust => add_rust_abi(&module).and_then(|m| to_legacy(&m)),
        _ => None,
    }
}

#[derive(Default, Debug)]
pub struct Counts {
    pub cases: usize,
    /// Generation gave nothing usable (wasm-smith ran out of data, no legacy form, mutator error).
    pub not_generated: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Accepted only with `encoding` forced (the module throws but never catches).
    pub forced_encoding: usize,
    pub compared: usize,
    pub compared_calls: usize,
    pub compared_exceptions: usize,
    pub compared_traps: usize,
    pub inconclusive: usize,
    pub legacy_only: usize,
    pub not_runnable: usize,
    /// Also processed in JS mode, and valid.
    pub js_checked: usize,
}

impl Counts {
    fn add(&mut self, c: &Counts) {
        self.cases += c.cases;
        self.not_generated += c.not_generated;
        self.accepted += c.accepted;
        self.rejected += c.rejected;
        self.forced_encoding += c.forced_encoding;
        self.compared += c.compared;
        self.compared_calls += c.compared_calls;
        self.compared_exceptions += c.compared_exceptions;
        self.compared_traps += c.compared_traps;
        self.inconclusive += c.inconclusive;
        self.legacy_only += c.legacy_only;
        self.not_runnable += c.not_runnable;
        self.js_checked += c.js_checked;
    }
}

/// The fixtures the byte-level kinds start from.
pub const BASE_FIXTURES: [&str; 3] = ["panics.exnref.wasm", "panics.legacy.wasm", "abort.wasm"];

/// The whole case: default options, then (a wasm-smith variant that throws but never catches)
/// again with its encoding given, as a user would; what was accepted also in JS mode.
pub fn run_one(kind: Kind, bytes: &[u8], counts: &mut Counts) -> Result<(), Bug> {
    let outcome = check_case(bytes, &Options::default(), true)?;
    let outcome = match (&outcome, kind.smith_encoding()) {
        (Outcome::Rejected(msg), Some(encoding)) if msg.contains("--encoding") => {
            let options = Options::default().encoding(encoding);
            let forced = check_case(bytes, &options, true)?;
            if matches!(forced, Outcome::Accepted { .. }) {
                counts.forced_encoding += 1;
            }
            forced
        }
        _ => outcome,
    };
    if check_js_mode(bytes, &outcome)? {
        counts.js_checked += 1;
    }
    match outcome {
        Outcome::Rejected(_) => counts.rejected += 1,
        Outcome::Accepted { diff, .. } => {
            counts.accepted += 1;
            match diff {
                Diff::Compared {
                    calls,
                    exceptions,
                    trapped,
                } => {
                    counts.compared += 1;
                    counts.compared_calls += calls;
                    counts.compared_exceptions += exceptions;
                    counts.compared_traps += trapped as usize;
                }
                Diff::Inconclusive => counts.inconclusive += 1,
                Diff::Legacy => counts.legacy_only += 1,
                Diff::NotRunnable => counts.not_runnable += 1,
                Diff::Skipped => {}
            }
        }
    }
    Ok(())
}

/// Makes the input of one case.
fn generate(kind: Kind, rng: &mut Rng, pool: &[Vec<u8>]) -> Option<Vec<u8>> {
    match kind {
        Kind::Mutated => {
            let base = &pool[rng.below(pool.len())];
            let mut mutate = wasm_mutate::WasmMutate::default();
            mutate
                .seed(rng.next_u64())
                .fuel(1000)
                .preserve_semantics(rng.below(4) == 0);
            // wasm-mutate's own panics are not ours: such a case counts as not generated.
            catch_unwind(AssertUnwindSafe(|| mutate.run(base).ok()?.next()?.ok()))
                .ok()
                .flatten()
        }
        Kind::Truncated => {
            let base = &pool[rng.below(pool.len())];
            Some(base[..rng.below(base.len())].to_vec())
        }
        Kind::BitFlipped => {
            let mut bytes = pool[rng.below(pool.len())].clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len());
                match rng.below(4) {
                    0 => bytes[i] = rng.next_u64() as u8,
                    1 => bytes[i] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)],
                    _ => bytes[i] ^= 1 << rng.below(8),
                }
            }
            Some(bytes)
        }
        smith_kind => {
            let n = 64 + rng.below(8192);
            smith_variant(smith_kind, &mut Unstructured::new(&rng.bytes(n)))
        }
    }
}

/// Saves a failing input under `target/robustness-failures/`.
pub fn save_failure(kind: Kind, case: usize, bytes: &[u8]) -> PathBuf {
    let dir = crate::repo().join("target/robustness-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind:?}-{case}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// What a run found.
#[derive(Default, Debug)]
pub struct Campaign {
    pub counts: BTreeMap<Kind, Counts>,
    /// The first few failing inputs of each distinct bug, with where they were saved.
    pub bugs: Vec<String>,
    /// Distinct bugs (message without its numbers) and how many cases showed each.
    pub bug_cases: BTreeMap<String, usize>,
}

impl Campaign {
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for c in self.counts.values() {
            total.add(c);
        }
        total
    }

    /// One line per kind and a total, on stderr.
    pub fn print(&self) {
        let row = |kind: &str, c: &Counts| {
            eprintln!(
                "{:<16} {:>7} {:>7} {:>8} {:>8} {:>6} {:>8} {:>7} {:>6} {:>5} {:>6} {:>6} {:>7} {:>5}",
                kind,
                c.cases,
                c.not_generated,
                c.accepted,
                c.rejected,
                c.forced_encoding,
                c.compared,
                c.compared_calls,
                c.compared_exceptions,
                c.compared_traps,
                c.inconclusive,
                c.legacy_only,
                c.not_runnable,
                c.js_checked
            )
        };
        eprintln!(
            "{:<16} {:>7} {:>7} {:>8} {:>8} {:>6} {:>8} {:>7} {:>6} {:>5} {:>6} {:>6} {:>7} {:>5}",
            "kind",
            "cases",
            "no-gen",
            "accepted",
            "rejected",
            "forced",
            "compared",
            "calls",
            "exns",
            "traps",
            "inconc",
            "legacy",
            "no-run",
            "js"
        );
        for (kind, c) in &self.counts {
            row(&format!("{kind:?}"), c);
        }
        row("total", &self.total());
        for (what, n) in &self.bug_cases {
            eprintln!("bug seen in {n} case(s): {what}");
        }
    }
}

/// `cases` cases from `seed`, every kind in turn; stops early after 20 distinct bugs.
pub fn campaign(seed: u64, cases: usize) -> Campaign {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    // wasm-mutate panics on some inputs (caught, the case counts as not generated): keep its
    // backtraces out of the log. Panics anywhere else still print.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|l| l.file().contains("wasm-mutate"))
        {
            default_hook(info)
        }
    }));
    // Bases for mutation, truncation and bit flips: the fixtures, then generated modules too.
    let mut pool: Vec<Vec<u8>> = BASE_FIXTURES.iter().map(|f| crate::fixture(f)).collect();
    let mut run = Campaign {
        counts: KINDS.iter().map(|&k| (k, Counts::default())).collect(),
        ..Campaign::default()
    };
    let mut last_report = Instant::now();
    for case in 1..=cases {
        if run.bug_cases.len() >= 20 {
            break;
        }
        let kind = KINDS[(case - 1) % KINDS.len()];
        let c = run.counts.get_mut(&kind).unwrap();
        c.cases += 1;
        let Some(bytes) = generate(kind, &mut rng, &pool) else {
            c.not_generated += 1;
            continue;
        };
        if kind.smith_encoding().is_some() {
            // Keep a few recent generated modules as bases for the byte-level mutations.
            if pool.len() < 64 {
                pool.push(bytes.clone());
            } else {
                let i = BASE_FIXTURES.len() + rng.below(pool.len() - BASE_FIXTURES.len());
                pool[i] = bytes.clone();
            }
        }
        if let Err(bug) = run_one(kind, &bytes, c) {
            run.record(kind, case, &bytes, bug);
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!("... {case} cases, {:.0?}", start.elapsed());
        }
    }
    eprintln!(
        "robustness: seed {seed:#x}, {} cases in {:.1?}",
        run.total().cases,
        start.elapsed()
    );
    run
}

impl Campaign {
    /// One bug shows up many times: group by the message without its numbers, keep the first
    /// few inputs of each, and go on.
    fn record(&mut self, kind: Kind, case: usize, bytes: &[u8], bug: Bug) {
        let key: String = bug
            .what
            .chars()
            .filter(|c| !c.is_ascii_hexdigit())
            .collect();
        let seen = self.bug_cases.entry(key).or_insert(0);
        *seen += 1;
        if *seen <= 3 {
            let path = save_failure(kind, case, bytes);
            eprintln!(
                "BUG ({kind:?}, case {case}): {}\n  input saved to {}",
                bug.what,
                path.display()
            );
            self.bugs.push(format!(
                "{kind:?} case {case}: {} ({})",
                bug.what,
                path.display()
            ));
        }
    }
}
