//! Small cryptographic helpers shared by every area: random tokens from the operating system's
//! CSPRNG, SHA-256 digests for storing tokens, base64url and constant-time comparison.
//!
//! Tokens, codes and link keys are stored only as [`sha256_b64`] digests (ARCHITECTURE.md
//! section 3). They are 256-bit random values, so a fast hash is a safe store (ASVS 6.5.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// Fills `out` from the operating system's CSPRNG.
pub fn fill_random(out: &mut [u8]) {
    // The system RNG only fails when the kernel cannot provide randomness; continuing
    // without it would be a security failure, so this is a deliberate crash.
    SystemRandom::new()
        .fill(out)
        .expect("the operating system random number generator failed");
}

/// A random token of `bytes` bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    b64(&buf)
}

/// A 256-bit random secret (session ids, codes, refresh tokens, client secrets).
pub fn secret_token() -> String {
    random_token(32)
}

/// A 128-bit random opaque identifier (user `sub`, client ids, row ids).
pub fn random_id() -> String {
    random_token(16)
}

/// base64url without padding.
pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url without padding.
pub fn b64_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(data).ok()
}

/// SHA-256 digest.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of a token, base64url: the form in which tokens are stored.
pub fn sha256_b64(token: &str) -> String {
    b64(&sha256(token.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ (`subtle`; strings of
/// different lengths differ at once, which tells only the length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_long_enough() {
        let a = secret_token();
        let b = secret_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(random_id().len(), 22);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
