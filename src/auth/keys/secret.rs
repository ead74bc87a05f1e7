//! The secrets of a key: the 256-bit link key and the short code, derived from the request
//! id under a master-derived key (a PRF of a random id: unpredictable without the master key,
//! and the same when a request is processed again), or drawn at random for keys made on the
//! spot; and how they are stored (SHA-256 of the link key, HMAC of the code).

use crate::crypto::{b64, constant_time_eq, fill_random};
use crate::state::AppState;

/// The link key for a request (32 bytes, base64url: 43 characters).
pub fn link_key(state: &AppState, request_id: &str) -> String {
    b64(&state.keys.mac("login-link", request_id.as_bytes()))
}

/// The code for a request: `digits` decimal digits.
pub fn code(state: &AppState, request_id: &str, digits: u32) -> String {
    let mac = state.keys.mac("login-code", request_id.as_bytes());
    digits_from(&mac, digits)
}

/// A random code of `digits` digits (for keys made on the spot).
pub fn random_code(digits: u32) -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    digits_from(&bytes, digits)
}

/// `digits` decimal digits from 64 uniform bits (the modulo bias is below 2^-30).
fn digits_from(bytes: &[u8; 32], digits: u32) -> String {
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    let value = u64::from_be_bytes(n) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// How a code is stored: an HMAC of the key's hash and the code.
pub fn code_hash(state: &AppState, key_hash: &str, code: &str) -> String {
    b64(&state
        .keys
        .mac("code-hash", format!("{key_hash}:{code}").as_bytes()))
}

/// What a person typed, as a code: the digits, with spaces and dashes dropped. `None` when it
/// cannot be a code of `digits` digits.
pub fn typed_code(typed: &str, digits: u32) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    (code.len() == digits as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Whether `typed` is the code stored as `stored` for the key `key_hash`. The stored hash may
/// have been made under a master key that has since been rotated: every master key of the
/// file is tried (docs/keys.md).
pub fn code_matches(state: &AppState, key_hash: &str, stored: &str, typed: &str) -> bool {
    let data = format!("{key_hash}:{typed}");
    state
        .keys
        .macs("code-hash", data.as_bytes())
        .iter()
        .fold(false, |found, mac| {
            found | constant_time_eq(b64(mac).as_bytes(), stored.as_bytes())
        })
}

/// "123 456" / "1234 5678": easier to read and type.
pub fn spaced(code: &str) -> String {
    let mid = code.len() / 2;
    format!("{} {}", &code[..mid], &code[mid..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_asked_length_and_spread() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let c = random_code(6);
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            seen.insert(c);
        }
        assert!(seen.len() > 1990, "codes repeat too often: {}", seen.len());
        assert_eq!(random_code(8).len(), 8);
        let mut counts = [0u32; 10];
        for _ in 0..20000 {
            counts[(random_code(6).as_bytes()[0] - b'0') as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (1700..2300).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(typed_code(" 123 456 ", 6).as_deref(), Some("123456"));
        assert_eq!(typed_code("123-456", 6).as_deref(), Some("123456"));
        assert_eq!(typed_code("12345", 6), None);
        assert_eq!(typed_code("12345a", 6), None);
        assert_eq!(spaced("123456"), "123 456");
    }
}
