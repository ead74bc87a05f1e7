//! Properties of the PHC string parser (`auth::phc`, argon2 password hashes): nothing
//! panics, what we write reads back, and a string is accepted only in the one spelling the
//! PHC format prescribes (so a stored hash cannot smuggle in a second value for a parameter).

use argon2::{Algorithm, Params};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use nyckel::auth::phc::Phc;
use proptest::prelude::*;
use proptest::sample::select;

use crate::helpers::prop::{config, hostile_or};

const PHC_TOKENS: &[&str] = &[
    "$", "argon2id", "argon2i", "argon2d", "v=19", "v=16", "m=", "t=", "p=", ",", "=", "0", "1",
    "19456", "+", "-", "AAAA", "AQ", "Ag", "/", "+", "==", " ", "\u{e5}",
];

fn name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Argon2d => "argon2d",
        Algorithm::Argon2i => "argon2i",
        Algorithm::Argon2id => "argon2id",
    }
}

/// The one spelling of `phc` (what [`Phc::format`] writes, for any of the three variants).
fn canonical(phc: &Phc) -> String {
    format!(
        "${}$v=19$m={},t={},p={}${}${}",
        name(phc.algorithm),
        phc.m_cost,
        phc.t_cost,
        phc.p_cost,
        STANDARD_NO_PAD.encode(&phc.salt),
        STANDARD_NO_PAD.encode(&phc.hash)
    )
}

/// A valid hash string, as its parts: algorithm, version, parameters, salt, hash, tail.
#[derive(Debug, Clone)]
struct Parts {
    algorithm: String,
    version: String,
    params: Vec<(String, String)>,
    salt: String,
    hash: String,
    tail: String,
}

impl Parts {
    fn join(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "${}${}${}${}${}{}",
            self.algorithm,
            self.version,
            params.join(","),
            self.salt,
            self.hash,
            self.tail
        )
    }
}

fn valid_parts() -> impl Strategy<Value = Parts> {
    (
        select(vec!["argon2id", "argon2i", "argon2d"]),
        (8u32..=u32::MAX, 1u32..=u32::MAX, 1u32..=255),
        proptest::collection::vec(any::<u8>(), 8..=48),
        proptest::collection::vec(any::<u8>(), 16..=64),
    )
        .prop_map(|(algorithm, (m, t, p), salt, hash)| Parts {
            algorithm: algorithm.into(),
            version: "v=19".into(),
            params: vec![
                ("m".into(), m.to_string()),
                ("t".into(), t.to_string()),
                ("p".into(), p.to_string()),
            ],
            salt: STANDARD_NO_PAD.encode(salt),
            hash: STANDARD_NO_PAD.encode(hash),
            tail: String::new(),
        })
}

/// One way to spell a valid string differently (or, for `0`, not at all).
fn respell(mut parts: Parts, how: u8, at: usize, junk: &str) -> String {
    let i = at % parts.params.len();
    match how {
        0 => {}
        1 => parts.params[i].1.insert(0, '0'),
        2 => parts.params[i].1.insert(0, '+'),
        3 => parts.params.swap(i, (i + 1) % 3),
        4 => {
            let copy = (parts.params[i].0.clone(), junk.to_string());
            parts.params.insert(at % 4, copy);
        }
        5 => {
            parts.params.remove(i);
        }
        6 => parts.params.push(("keyid".into(), "AAAA".into())),
        7 => parts.params[i].1 = format!(" {}", parts.params[i].1),
        8 => parts.salt.push('='),
        9 => parts.hash = format!("{}==", parts.hash),
        10 => parts.version = junk.into(),
        11 => parts.algorithm = parts.algorithm.to_uppercase(),
        12 => parts.tail = format!("${junk}"),
        13 => parts.params[i].1 = junk.into(),
        _ => parts.salt = junk.into(),
    }
    parts.join()
}

/// Near-valid strings: a valid hash string with one part spelled differently.
fn near_valid() -> impl Strategy<Value = String> {
    let junk = prop_oneof![
        "[0-9]{0,11}",
        "[+0-][0-9]{1,4}",
        "v=[0-9+]{0,3}",
        "[A-Za-z0-9+/=]{0,12}",
    ];
    (valid_parts(), 0u8..=14, any::<usize>(), junk)
        .prop_map(|(parts, how, at, junk)| respell(parts, how, at, &junk))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_parse_never_panics_and_accepts_only_the_canonical_spelling(
        s in prop_oneof![hostile_or(PHC_TOKENS), near_valid(), near_valid()],
    ) {
        if let Some(phc) = Phc::parse(&s) {
            prop_assert_eq!(canonical(&phc), s);
            prop_assert!(phc.salt.len() >= 8);
            prop_assert!((16..=64).contains(&phc.hash.len()));
            // The argon2 parameters are built or refused, never a panic.
            if let Some(params) = phc.params() {
                prop_assert_eq!(params.m_cost(), phc.m_cost);
                prop_assert_eq!(params.output_len(), Some(phc.hash.len()));
            }
        }
    }

    #[test]
    fn prop_the_near_valid_generator_starts_from_valid_strings(parts in valid_parts()) {
        // The control for the property above: with nothing respelled, the string is read.
        let s = respell(parts, 0, 0, "");
        let phc = Phc::parse(&s).expect("a valid string parses");
        prop_assert_eq!(canonical(&phc), s);
    }

    #[test]
    fn prop_what_we_write_reads_back(
        p in 1u32..=255,
        m_extra in any::<u32>(),
        t in 1u32..=u32::MAX,
        salt in proptest::collection::vec(any::<u8>(), 8..=48),
        hash in proptest::collection::vec(any::<u8>(), 16..=64),
    ) {
        let m = (8 * p).saturating_add(m_extra % (u32::MAX - 8 * p));
        let params = Params::new(m, t, p, Some(hash.len())).expect("valid argon2 parameters");
        let s = Phc::format(&params, &salt, &hash);
        let phc = Phc::parse(&s).expect("what we write parses");
        prop_assert_eq!(&phc, &Phc { algorithm: Algorithm::Argon2id, m_cost: m, t_cost: t, p_cost: p, salt, hash });
        prop_assert_eq!(canonical(&phc), s);
        let back = phc.params().expect("the parameters are valid");
        prop_assert_eq!((back.m_cost(), back.t_cost(), back.p_cost()), (m, t, p));
    }

    #[test]
    fn prop_a_changed_character_is_refused_or_reads_as_another_canonical_string(
        p in 1u32..=16,
        t in 1u32..=10,
        salt in proptest::collection::vec(any::<u8>(), 8..=32),
        hash in proptest::collection::vec(any::<u8>(), 16..=64),
        at in any::<proptest::sample::Index>(),
        c in prop_oneof![select(vec!['$', ',', '=', '0', '1', '+', '-', 'A', '/', 'm', 't', 'p', ' ']), any::<char>()],
    ) {
        let params = Params::new(19456, t, p, Some(hash.len())).expect("params");
        let s = Phc::format(&params, &salt, &hash);
        let mut chars: Vec<char> = s.chars().collect();
        let i = at.index(chars.len());
        chars[i] = c;
        let changed: String = chars.into_iter().collect();
        if let Some(phc) = Phc::parse(&changed) {
            prop_assert_eq!(canonical(&phc), changed);
        }
    }
}
