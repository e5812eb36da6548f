//! The fixed-seed run: a fixed number of cases of every [`Kind`] in turn from one seed, so a
//! seed means the same cases on every machine. Every bug is saved under
//! `target/robustness-failures/` and reported; the caller decides what passing means.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use wasm_unwind::{Encoding, Options};

use super::{
    Abi, Bug, Case, Diff, Outcome, Rng, Tally, add_odd_abi, add_rust_abi, check_case,
    check_js_mode, smith, to_legacy,
};

/// Where a case comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    SmithExnref,
    SmithExnrefRust,
    SmithLegacy,
    SmithLegacyRust,
    /// A Rust-like module off the happy path, in either encoding (half each; exnref only for
    /// [`Abi::HostWrites`] and [`Abi::NeverCatches`]).
    SmithOdd(Abi),
    /// wasm-mutate 0.254 refuses modules with a tag section, so in practice `abort.wasm` and
    /// tag-free generated modules.
    Mutated,
    Truncated,
    BitFlipped,
}

/// Every kind, the wasm-smith ones first.
pub const KINDS: [Kind; 15] = [
    Kind::SmithExnref,
    Kind::SmithExnrefRust,
    Kind::SmithLegacy,
    Kind::SmithLegacyRust,
    Kind::SmithOdd(Abi::StackPointerImmutable),
    Kind::SmithOdd(Abi::StackPointerWrongType),
    Kind::SmithOdd(Abi::NoStackPointer),
    Kind::SmithOdd(Abi::ClashState),
    Kind::SmithOdd(Abi::ClashTag),
    Kind::SmithOdd(Abi::Prefixed),
    Kind::SmithOdd(Abi::Tables),
    Kind::SmithOdd(Abi::HostWrites),
    Kind::Mutated,
    Kind::Truncated,
    Kind::BitFlipped,
];

/// The wasm-smith variants, first in [`KINDS`]: the four by their two bits, Rust-like ABI (1)
/// and legacy (2), then the odd ones.
pub const SMITH_KINDS: &[Kind] = KINDS.split_at(12).0;

impl Kind {
    /// The encoding a wasm-smith variant that may need it given is in; `None` for the others
    /// (the odd ones catch, so their encoding shows).
    fn smith_encoding(self) -> Option<Encoding> {
        match self {
            Kind::SmithExnref | Kind::SmithExnrefRust => Some(Encoding::Exnref),
            Kind::SmithLegacy | Kind::SmithLegacyRust => Some(Encoding::Legacy),
            _ => None,
        }
    }

    /// Added after the others: its cases come from a stream of their own (see [`campaign_of`]).
    fn own_stream(self) -> bool {
        self == Kind::SmithOdd(Abi::HostWrites)
    }

    fn is_smith(self) -> bool {
        !matches!(self, Kind::Mutated | Kind::Truncated | Kind::BitFlipped)
    }

    /// A short name for tables and file names.
    pub fn name(self) -> String {
        match self {
            Kind::SmithOdd(abi) => format!("{abi:?}"),
            kind => format!("{kind:?}"),
        }
    }
}

/// A wasm-smith module of variant `kind` from the bytes of `u`; `None` when `u` runs out, or the
/// module has no such variant. An odd variant's choices come first, from the first 8 bytes.
pub fn smith_variant(kind: Kind, u: &mut Unstructured<'_>) -> Option<Case> {
    let mut choices = Rng::new(u.arbitrary().unwrap_or(0));
    let module = smith(u)?;
    let plain = |module: Option<Vec<u8>>| module.map(Case::plain);
    match kind {
        Kind::SmithExnref => plain(Some(module)),
        Kind::SmithExnrefRust => plain(add_rust_abi(&module)),
        Kind::SmithLegacy => plain(to_legacy(&module)),
        Kind::SmithLegacyRust => plain(add_rust_abi(&module).and_then(|m| to_legacy(&m))),
        Kind::SmithOdd(abi) => {
            let case = add_odd_abi(&module, abi, &mut choices)?;
            // The host steps run in Wasmtime (exnref only); a module that never catches shows
            // no encoding to translate.
            let exnref_only = matches!(abi, Abi::HostWrites | Abi::NeverCatches);
            if exnref_only || choices.below(2) == 0 {
                return Some(case);
            }
            Some(Case {
                wasm: to_legacy(&case.wasm)?,
                ..case
            })
        }
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
    /// What those compared.
    pub tally: Tally,
    pub inconclusive: usize,
    pub legacy_only: usize,
    pub not_runnable: usize,
    /// Also processed in JS mode, and valid.
    pub js_checked: usize,
    /// Time spent making and checking the cases.
    pub time: Duration,
}

impl Counts {
    fn add(&mut self, c: &Counts) {
        self.cases += c.cases;
        self.not_generated += c.not_generated;
        self.accepted += c.accepted;
        self.rejected += c.rejected;
        self.forced_encoding += c.forced_encoding;
        self.compared += c.compared;
        self.tally += c.tally;
        self.inconclusive += c.inconclusive;
        self.legacy_only += c.legacy_only;
        self.not_runnable += c.not_runnable;
        self.js_checked += c.js_checked;
        self.time += c.time;
    }
}

/// The fixtures the byte-level kinds start from.
pub const BASE_FIXTURES: [&str; 3] = ["panics.exnref.wasm", "panics.legacy.wasm", "abort.wasm"];

/// The whole case: default options, then (a wasm-smith variant that throws but never catches)
/// again with its encoding given, as a user would; what was accepted also in JS mode; and for
/// an odd variant, whether the tool did what it must.
pub fn run_one(kind: Kind, case: &Case, counts: &mut Counts) -> Result<(), Bug> {
    let bytes = &case.wasm[..];
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
    if let Some(expect) = &case.expect {
        expect.check(bytes, &outcome)?;
    }
    if check_js_mode(bytes, &outcome)? {
        counts.js_checked += 1;
    }
    match outcome {
        Outcome::Rejected(_) => counts.rejected += 1,
        Outcome::Accepted { diff, .. } => {
            counts.accepted += 1;
            match diff {
                Diff::Compared(tally) => {
                    counts.compared += 1;
                    counts.tally += tally;
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
fn generate(kind: Kind, rng: &mut Rng, pool: &[Vec<u8>]) -> Option<Case> {
    if kind.is_smith() {
        // The host steps are about the fields added, not the module under them: a small one
        // keeps their cost (two compilations a case) down.
        let most = if kind.own_stream() { 256 } else { 8192 };
        let n = 64 + rng.below(most);
        return smith_variant(kind, &mut Unstructured::new(&rng.bytes(n)));
    }
    let bytes = match kind {
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
        _ => unreachable!("wasm-smith kinds return above"),
    };
    bytes.map(Case::plain)
}

/// Saves a failing input under `target/robustness-failures/`.
pub fn save_failure(kind: Kind, case: usize, bytes: &[u8]) -> PathBuf {
    let dir = crate::repo().join("target/robustness-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{case}.wasm", kind.name()));
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
        line(
            [
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
                "t-calls",
                "t-exns",
                "t-traps",
                "t-refused",
                "h-calls",
                "h-back",
                "linked",
                "inconc",
                "legacy",
                "no-run",
                "js",
                "secs",
            ]
            .map(String::from),
        );
        let row = |kind: String, c: &Counts| {
            line([
                kind,
                c.cases.to_string(),
                c.not_generated.to_string(),
                c.accepted.to_string(),
                c.rejected.to_string(),
                c.forced_encoding.to_string(),
                c.compared.to_string(),
                c.tally.calls.to_string(),
                c.tally.exceptions.to_string(),
                c.tally.traps.to_string(),
                c.tally.table_calls.to_string(),
                c.tally.table_exceptions.to_string(),
                c.tally.table_traps.to_string(),
                c.tally.table_refused.to_string(),
                c.tally.host_calls.to_string(),
                c.tally.callbacks.to_string(),
                c.tally.linked.to_string(),
                c.inconclusive.to_string(),
                c.legacy_only.to_string(),
                c.not_runnable.to_string(),
                c.js_checked.to_string(),
                format!("{:.1}", c.time.as_secs_f64()),
            ])
        };
        for (kind, c) in &self.counts {
            row(kind.name(), c);
        }
        row("total".into(), &self.total());
        for (what, n) in &self.bug_cases {
            eprintln!("bug seen in {n} case(s): {what}");
        }
    }
}

/// One line of [`Campaign::print`]'s table.
fn line(cells: [String; 22]) {
    const WIDTHS: [usize; 22] = [
        22, 6, 6, 8, 8, 6, 8, 6, 5, 5, 7, 6, 7, 9, 7, 6, 6, 6, 6, 6, 5, 5,
    ];
    let mut text = format!("{:<w$}", cells[0], w = WIDTHS[0]);
    for (cell, w) in cells[1..].iter().zip(&WIDTHS[1..]) {
        text.push_str(&format!(" {cell:>w$}"));
    }
    eprintln!("{text}");
}

/// `cases` cases from `seed`, every kind in turn; stops early after 20 distinct bugs.
pub fn campaign(seed: u64, cases: usize) -> Campaign {
    campaign_of(&KINDS, seed, cases)
}

/// [`campaign`] of these kinds only.
pub fn campaign_of(kinds: &[Kind], seed: u64, cases: usize) -> Campaign {
    let mut rng = Rng::new(seed);
    let mut own = Rng::new(seed ^ 0x0057_7ea3);
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
        counts: kinds.iter().map(|&k| (k, Counts::default())).collect(),
        ..Campaign::default()
    };
    let mut last_report = Instant::now();
    for case in 1..=cases {
        if run.bug_cases.len() >= 20 {
            break;
        }
        let kind = kinds[(case - 1) % kinds.len()];
        let started = Instant::now();
        let c = run.counts.get_mut(&kind).unwrap();
        c.cases += 1;
        // A kind added later draws from a stream of its own and stays out of the pool, so the
        // cases of the earlier kinds stay what they were (the first of each).
        let stream = match kind.own_stream() {
            true => &mut own,
            false => &mut rng,
        };
        let Some(generated) = generate(kind, stream, &pool) else {
            c.not_generated += 1;
            c.time += started.elapsed();
            continue;
        };
        if kind.is_smith() && !kind.own_stream() {
            // Keep a few recent generated modules as bases for the byte-level mutations.
            if pool.len() < 64 {
                pool.push(generated.wasm.clone());
            } else {
                let i = BASE_FIXTURES.len() + rng.below(pool.len() - BASE_FIXTURES.len());
                pool[i] = generated.wasm.clone();
            }
        }
        let result = run_one(kind, &generated, c);
        c.time += started.elapsed();
        if let Err(bug) = result {
            run.record(kind, case, &generated.wasm, bug);
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
                "BUG ({}, case {case}): {}\n  input saved to {}",
                kind.name(),
                bug.what,
                path.display()
            );
            self.bugs.push(format!(
                "{} case {case}: {} ({})",
                kind.name(),
                bug.what,
                path.display()
            ));
        }
    }
}
