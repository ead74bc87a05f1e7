//! Shared setup for the property tests (`prop_*.rs`, issue 14): how many cases each property
//! runs, and strategies for hostile input.
//!
//! Each property runs `NYCKEL_PROPTEST_CASES` cases, 256 when unset, so that the normal suite
//! stays fast. Before a release, run them longer (README.md, "Tests"):
//!
//! ```sh
//! NYCKEL_PROPTEST_CASES=100000 cargo test --release --test it prop_
//! ```
//!
//! A failure prints the smallest input proptest could shrink it to. Nothing is written to
//! the source tree (no `proptest-regressions/` files): turn the printed input into a unit test
//! next to the parser, named for what it shows.

use proptest::prelude::*;
use proptest::test_runner::FailurePersistence;

/// Cases per property when `NYCKEL_PROPTEST_CASES` is unset.
pub const DEFAULT_CASES: u32 = 256;

/// Longest string the hostile strategies build: past the request body limit (64 KiB), since
/// some of these parsers also read query strings and headers.
pub const HUGE: usize = 256 * 1024;

/// The configuration every `proptest!` block here uses.
pub fn config() -> ProptestConfig {
    let cases = match std::env::var("NYCKEL_PROPTEST_CASES") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("NYCKEL_PROPTEST_CASES must be a number, not {v:?}")),
        Err(_) => DEFAULT_CASES,
    };
    let mut config = ProptestConfig::with_cases(cases);
    config.failure_persistence = None::<Box<dyn FailurePersistence>>;
    config
}

/// Strings made of `tokens` (the characters and fragments a parser cares about), up to
/// `max` tokens long.
pub fn made_of(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(tokens), 0..=max).prop_map(|t| t.concat())
}

/// `inner` repeated to a length between 1 byte and [`HUGE`], every power of two as likely.
pub fn huge(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (inner, 0..=HUGE.ilog2()).prop_map(|(chunk, log)| {
        let n = (1usize << log) / chunk.len().max(1);
        chunk.repeat(n.max(1))
    })
}

/// Any input at all: arbitrary Unicode, printable ASCII, control characters, bytes that were
/// not UTF-8 (replaced), and huge strings.
pub fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,200}",
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{10ffff}]{0,50}",
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        huge("[ -~]{1,16}"),
        huge(any::<String>()),
    ]
}

/// `hostile()`, or strings of `tokens`, or huge strings of `tokens`: the second and third
/// get past the first check of a parser far more often than random text does.
pub fn hostile_or(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        hostile(),
        made_of(tokens, 64),
        made_of(tokens, 64),
        huge(made_of(tokens, 16)),
    ]
}
