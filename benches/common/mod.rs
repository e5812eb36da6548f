//! What the benches share: their knobs, the machine's state, medians, and timing a command.

// `runtime.rs` times no commands.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fixtures `process` times and `runtime` sizes: the small ones in both encodings, `abort`,
/// and the generated medium and large modules.
pub const FIXTURES: &[&str] = &[
    "panics.exnref",
    "panics.legacy",
    "abort",
    "medium.exnref",
    "medium.legacy",
    "large.exnref",
    "large.legacy",
];

/// `fixtures/wasm/NAME.wasm` of the repository.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/wasm")
        .join(format!("{name}.wasm"))
}

/// A positive count from the environment variable `var` (`_` and `,` allowed as separators),
/// or `default` when it is unset. Anything else stops the bench.
pub fn env_count(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{var}={v}: not a positive integer")),
        Err(_) => default,
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1, 5 and 15 minute load averages, for the record of how noisy a run was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub fn median(v: &[f64]) -> f64 {
    assert!(!v.is_empty());
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `cmd` to completion; panics when it fails.
pub fn run_timed(cmd: &mut Command, what: &str) -> Duration {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let elapsed = t.elapsed();
    if !out.status.success() {
        panic!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    elapsed
}

/// Runs `cmd` as `run_timed` does, and says how much CPU time (user and system, every thread)
/// it took: the kernel's account of this process's finished children, before and after.
pub fn run_timed_cpu(cmd: &mut Command, what: &str) -> (Duration, Duration) {
    let before = children_cpu();
    let wall = run_timed(cmd, what);
    (wall, children_cpu() - before)
}

fn children_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is always valid.
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()),
            0
        );
        usage.assume_init()
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Variant order for a round: forwards on even rounds, backwards on odd ones.
pub fn order(n: usize, round: usize) -> Vec<usize> {
    if round.is_multiple_of(2) {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    }
}

pub fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
