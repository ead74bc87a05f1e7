//! Properties of the form-body parsers (`application/x-www-form-urlencoded`): the
//! authorization, consent and logout endpoints' [`parse_pairs`], the token-style endpoints'
//! [`Form`] (which refuses a repeated parameter), and the client credentials of HTTP Basic
//! authentication ([`parse_basic`], RFC 6749 2.3.1).

use nyckel::oidc::authorize::parse_pairs;
use nyckel::oidc::client_auth::{Form, parse_basic};
use nyckel::oidc::error::ErrorCode;
use proptest::prelude::*;

use crate::helpers::prop::{config, hostile_or, made_of};

/// What form bodies are made of.
const FORM_TOKENS: &[&str] = &[
    "=",
    "&",
    "+",
    "%",
    "%2",
    "%41",
    "%c3%a5",
    "%C3",
    "%00",
    "%zz",
    "%%",
    "a",
    "b",
    "client_id",
    "code",
    " ",
    ";",
    "é",
    "\u{0}",
    "\u{fffd}",
    "#",
    "?",
];

/// Encodes `s` as some client might: character by character, either as it is (where that is
/// unambiguous) or percent-encoded in upper or lower case; a space as `+` or `%20`. `literal`
/// picks, cycling, which characters stay as they are.
fn encode_loosely(s: &str, literal: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let keep = literal[i % literal.len()];
        match c {
            ' ' if keep => out.push('+'),
            '&' | '=' | '+' | '%' | '#' => escape(&mut out, c, i),
            c if keep && (c.is_ascii_alphanumeric() || "-._~*/?:@!$'(),;".contains(c)) => {
                out.push(c)
            }
            c if keep && !c.is_ascii() => out.push(c),
            c => escape(&mut out, c, i),
        }
    }
    out
}

fn escape(out: &mut String, c: char, i: usize) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&if i.is_multiple_of(2) {
            format!("%{b:02X}")
        } else {
            format!("%{b:02x}")
        });
    }
}

fn body(pairs: &[(String, String)], literal: &[bool]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_loosely(k, literal),
                encode_loosely(v, literal)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Name/value pairs with names from a small alphabet, so that repeats are common.
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof!["[ab+%&= é]{0,2}", any::<String>()];
    let value = prop_oneof![Just(String::new()), "[ -~]{0,8}", any::<String>()];
    proptest::collection::vec((name, value), 0..12)
}

fn literal() -> impl Strategy<Value = Vec<bool>> {
    proptest::collection::vec(any::<bool>(), 1..8)
}

fn repeats_a_name<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    let mut seen = std::collections::HashSet::new();
    names.into_iter().any(|n| !seen.insert(n))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_parse_pairs_never_panics_and_keeps_no_empty_value(raw in hostile_or(FORM_TOKENS)) {
        for (_, v) in parse_pairs(&raw) {
            prop_assert!(!v.is_empty());
        }
    }

    #[test]
    fn prop_parse_pairs_reads_back_what_a_client_encoded(pairs in pairs(), literal in literal()) {
        let raw = body(&pairs, &literal);
        let want: Vec<_> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        prop_assert_eq!(parse_pairs(&raw), want, "{}", raw);
    }

    #[test]
    fn prop_form_refuses_exactly_the_bodies_that_repeat_a_name(
        raw in prop_oneof![
            hostile_or(FORM_TOKENS).prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..512),
        ]
    ) {
        // Whatever the bytes, the names are compared after decoding: `a=1&%61=2` repeats `a`.
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(&raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let repeated = repeats_a_name(decoded.iter().map(|(k, _)| k.as_str()));
        match Form::parse(&raw) {
            Err(e) => {
                prop_assert!(repeated, "refused without a repeated name");
                prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
            }
            Ok(form) => {
                prop_assert!(!repeated, "a repeated name was accepted");
                for (k, v) in &decoded {
                    prop_assert_eq!(form.get(k), (!v.is_empty()).then_some(v.as_str()));
                }
            }
        }
    }

    #[test]
    fn prop_form_reads_back_what_a_client_encoded(pairs in pairs(), literal in literal()) {
        let raw = body(&pairs, &literal);
        let repeated = repeats_a_name(pairs.iter().map(|(k, _)| k.as_str()));
        match Form::parse(raw.as_bytes()) {
            Err(_) => prop_assert!(repeated, "refused {raw:?} without a repeated name"),
            Ok(form) => {
                prop_assert!(!repeated, "accepted {raw:?}, which repeats a name");
                for (k, v) in &pairs {
                    prop_assert_eq!(form.get(k), (!v.is_empty()).then_some(v.as_str()));
                    if !v.is_empty() {
                        prop_assert_eq!(form.require(k).ok(), Some(v.as_str()));
                    }
                }
            }
        }
    }

    #[test]
    fn prop_basic_never_panics(
        header in prop_oneof![
            hostile_or(&["Basic ", "basic", " ", "=", "%", "%3A", ":", "+", "/", "QQ", "Og"]),
            made_of(&["A", "Z", "a", "0", "+", "/", "=", "Og", "JQ", "8A"], 40)
                .prop_map(|b64| format!("Basic {b64}")),
        ]
    ) {
        if let Some((id, secret)) = parse_basic(&header) {
            prop_assert!(!id.is_empty() && !secret.is_empty());
        }
    }

    #[test]
    fn prop_basic_reads_back_form_encoded_credentials(
        id in any::<String>().prop_filter("an id", |s| !s.is_empty()),
        secret in any::<String>().prop_filter("a secret", |s| !s.is_empty()),
        scheme in "[bB][aA][sS][iI][cC]",
        space in "[ ]{1,3}",
    ) {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", enc(&id), enc(&secret)));
        let header = format!("{scheme}{space}{b64}");
        prop_assert_eq!(parse_basic(&header), Some((id, secret)));
    }

    #[test]
    fn prop_basic_refuses_a_broken_escape(
        id in "[a-z]{1,8}",
        secret in "[a-z]{0,8}",
        broken in prop_oneof!["%", "%[0-9a-fA-F]", "%[g-zG-Z%][0-9a-zA-Z]?", "%[0-9a-f][g-z]"],
    ) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}{broken}"));
        prop_assert_eq!(parse_basic(&format!("Basic {b64}")), None);
    }
}
