//! Properties of the opaque list cursors and search patterns (`paging`): cursors
//! round-trip, anything else a caller sends is refused without a panic, and a search string
//! becomes a `like` pattern that matches it literally.

use nyckel::paging::{decode_cursor, encode_cursor, like_pattern};
use proptest::prelude::*;

use crate::helpers::prop::{config, hostile, hostile_or};

fn key() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(prop_oneof![any::<String>(), hostile()], 0..4)
}

/// Undoes [`like_pattern`]'s escaping, or says where an unescaped wildcard is.
fn unescape(body: &str) -> Result<String, char> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or('\\')?),
            '%' | '_' => return Err(c),
            c => out.push(c),
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_cursors_round_trip(key in key(), other_len in 0usize..6) {
        let parts: Vec<&str> = key.iter().map(String::as_str).collect();
        let cursor = encode_cursor(&parts);
        prop_assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(decode_cursor(&cursor, key.len()), Some(key.clone()));
        if other_len != key.len() {
            prop_assert_eq!(decode_cursor(&cursor, other_len), None);
        }
    }

    #[test]
    fn prop_foreign_cursors_are_refused_or_read_as_a_key_of_the_asked_length(
        cursor in prop_oneof![
            hostile_or(&["W", "1", "0", "i", "J", "d", "X", "_", "-", "=", "eyJ"]),
            any::<Vec<u8>>().prop_map(|b| nyckel::crypto::b64(&b)),
            hostile().prop_map(|s| nyckel::crypto::b64(s.as_bytes())),
            any::<Vec<Option<String>>>().prop_map(|v| nyckel::crypto::b64(&serde_json::to_vec(&v).expect("json"))),
        ],
        len in 0usize..4,
    ) {
        if let Some(key) = decode_cursor(&cursor, len) {
            prop_assert_eq!(key.len(), len);
        }
    }

    #[test]
    fn prop_search_patterns_match_the_text_literally(search in hostile_or(&["%", "_", "\\", "a", "A", "\u{130}", " "])) {
        let pattern = like_pattern(&search);
        let body = pattern
            .strip_prefix('%')
            .and_then(|p| p.strip_suffix('%'))
            .expect("wrapped in %...%");
        prop_assert_eq!(unescape(body), Ok(search.to_lowercase()));
    }
}
