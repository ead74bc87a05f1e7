//! Properties of phone-number parsing (`sms::phone`): whatever people type, nothing panics;
//! what comes out is E.164 and normalising it again changes nothing; spacing and
//! punctuation do not change the number; the country code is a prefix of the number; the
//! masked form shows only the country code and the last two digits.

use nyckel::sms::phone::{country_code, is_e164, masked, normalize, without_trunk_prefix};
use proptest::prelude::*;
use proptest::sample::select;

use crate::helpers::prop::{config, hostile, hostile_or};

const PHONE_TOKENS: &[&str] = &[
    "+", "00", "0", "1", "46", "7", "9", " ", "-", ".", "(", ")", "/", "\u{a0}", "\u{ff11}",
    "\u{0661}", "\n", "\t", "x", "#", "*",
];

/// Default country codes as configured (and some that no configuration should hold).
fn country() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["46", "1", "7", "358", "44", "882"]).prop_map(str::to_string),
        1 => "[0-9]{0,4}",
        1 => hostile(),
    ]
}

/// A valid E.164 number: `+`, 8 to 15 digits, the first not 0.
fn e164() -> impl Strategy<Value = String> {
    "[1-9][0-9]{7,14}".prop_map(|d| format!("+{d}"))
}

/// `digits` with separators people type put between them.
fn spaced(digits: &str, seps: &[&str]) -> String {
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        out.push(d);
        out.push_str(seps[i % seps.len()]);
    }
    out
}

/// `normalize` reads at most 40 bytes (after trimming): a bound on work, far above any
/// number as people write it, but within reach of generated spacing.
fn within_bound(typed: &str) -> bool {
    typed.trim().len() <= 40
}

fn separators() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(
        select(vec!["", "", " ", "-", ".", "(", ")", "/", "  "]),
        1..6,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_normalize_never_panics_and_gives_e164_that_stays_put(
        typed in hostile_or(PHONE_TOKENS),
        country in country(),
    ) {
        if let Some(n) = normalize(&typed, &country) {
            prop_assert!(is_e164(&n), "{n}");
            prop_assert_eq!(normalize(&n, &country), Some(n.clone()));
            prop_assert_eq!(normalize(&n, "1"), Some(n));
        }
    }

    #[test]
    fn prop_spacing_and_punctuation_do_not_change_the_number(
        number in e164(),
        seps in separators(),
        lead in select(vec!["", " ", "\t", "  "]),
        international in select(vec!["+", "00"]),
        country in country(),
    ) {
        let typed = format!("{lead}{international}{}{lead}", spaced(&number[1..], &seps));
        // `+46 (0)70...`: a `(0)` right after the country code is the trunk prefix, which
        // is dropped on purpose (tested in sms::phone).
        prop_assume!(without_trunk_prefix(typed.trim()) == typed.trim());
        let want = within_bound(&typed).then_some(number);
        prop_assert_eq!(normalize(&typed, &country), want, "{:?}", typed);
    }

    #[test]
    fn prop_a_national_number_takes_the_default_country(
        country in select(vec!["46", "1", "7", "358", "44"]),
        national in "[1-9][0-9]{4,12}",
        seps in separators(),
    ) {
        let typed = format!("0{}", spaced(&national, &seps));
        let want = format!("+{country}{national}");
        let got = normalize(&typed, country);
        if is_e164(&want) && within_bound(&typed) {
            prop_assert_eq!(got, Some(want));
        } else {
            prop_assert_eq!(got, None);
        }
    }

    #[test]
    fn prop_country_code_is_a_short_prefix_of_valid_numbers_only(
        s in prop_oneof![e164(), hostile_or(PHONE_TOKENS)],
    ) {
        match country_code(&s) {
            Some(code) => {
                prop_assert!(is_e164(&s));
                prop_assert!((1..=3).contains(&code.len()));
                prop_assert!(s[1..].starts_with(code));
            }
            None => prop_assert!(!is_e164(&s)),
        }
    }

    #[test]
    fn prop_masking_shows_the_country_code_and_last_two_digits_only(
        s in prop_oneof![3 => e164(), 1 => hostile_or(PHONE_TOKENS)],
    ) {
        let m = masked(&s);
        let shown: String = m.chars().filter(char::is_ascii_digit).collect();
        match country_code(&s) {
            Some(code) => {
                let prefix = format!("+{code}");
                prop_assert!(m.starts_with(&prefix), "{} {}", m, prefix);
                prop_assert!(m.ends_with(&s[s.len() - 2..]));
                prop_assert_eq!(shown.len(), code.len() + 2, "{}", m);
                prop_assert_eq!(m.chars().count(), s.chars().count(), "one mark per hidden digit");
            }
            None => prop_assert_eq!(m, "•••"),
        }
    }
}
