//! Compact JWS for our own tokens: signing with RS256, ES256 or EdDSA, and verification with
//! an algorithm allowlist. Verification only ever uses keys from our own key ring, found by
//! `kid`; `alg: none`, HMAC algorithms, `jku`/`x5u`/`jwk`/`x5c` headers and `crit` are refused
//! (SECURITY.md 9.1.1-9.1.3).
//!
//! Decision: this hand-written JWS stays, rather than a JOSE/JWT crate, because
//! - it is small enough to audit in one sitting: one serialisation (compact), three
//!   algorithms, one way to find a key (our `kid`), and no JWE, JSON serialisation, unencoded
//!   payloads or remote key sets to switch off and keep switched off;
//! - its refusals are an allowlist by construction: `alg` must be one we implement *and* the
//!   caller allows *and* the algorithm of the key its `kid` names, so `none`, HMAC-with-the-
//!   public-key and key-in-header attacks have no code path to reach;
//! - the cryptography is all `ring`, which rustls already brings: no second crypto stack,
//!   and no JOSE crate's release cycle between a fix and us;
//! - it is tested against the published vectors: RFC 7515 A.2 (RS256) and A.3 (ES256)
//!   verify with the published keys, RFC 8037 A.4 signs to the published Ed25519 bytes and
//!   A.5 verifies, RFC 7518 3.4's R || S form is required (DER is refused), every refusal
//!   has a unit test below, and `tests/it/prop_jws.rs` checks that no input panics and that
//!   any changed byte of a valid token is refused.
//!
//! The cost we accept: new algorithms or key types are ours to write, and any change here
//! needs the vectors and refusal tests to stay green.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{Map, Value};

use crate::crypto::{b64, b64_decode};

/// A signature algorithm we sign and verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    /// All supported algorithms.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE name; anything unsupported (including `none` and `HS*`) is `None`.
    pub fn parse(name: &str) -> Option<Alg> {
        match name {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            "EdDSA" => Some(Alg::EdDsa),
            _ => None,
        }
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key ready to sign.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
    rng: SystemRandom,
}

crate::redact::debug_showing!(SigningKey { kid, alg });

/// Why a key or token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("the key could not be loaded")]
    BadKey,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("signing failed")]
    Sign,
}

impl SigningKey {
    /// Loads a PKCS#8 DER private key.
    pub fn from_pkcs8(kid: String, alg: Alg, der: &[u8]) -> Result<Self, JwsError> {
        let rng = SystemRandom::new();
        let pair = match alg {
            Alg::Rs256 => Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| JwsError::BadKey)?),
            Alg::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|_| JwsError::BadKey)?,
            ),
            Alg::EdDsa => Pair::Ed(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| JwsError::BadKey)?,
            ),
        };
        Ok(Self {
            kid,
            alg,
            pair,
            rng,
        })
    }

    /// Signs `claims` as a compact JWS with header `{alg, typ, kid}`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JwsError> {
        let header = serde_json::json!({ "alg": self.alg.name(), "typ": typ, "kid": self.kid });
        let mut out = b64(header.to_string().as_bytes());
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let sig = self.sign_bytes(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, JwsError> {
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig)
                    .map_err(|_| JwsError::Sign)?;
                Ok(sig)
            }
            Pair::Ec(k) => Ok(k
                .sign(&self.rng, msg)
                .map_err(|_| JwsError::Sign)?
                .as_ref()
                .to_vec()),
            Pair::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }

    /// The raw public key bytes for EC (uncompressed point) and Ed25519 keys.
    pub fn public_bytes(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Rsa(k) => k.public_key().as_ref().to_vec(),
            Pair::Ec(k) => k.public_key().as_ref().to_vec(),
            Pair::Ed(k) => k.public_key().as_ref().to_vec(),
        }
    }
}

/// A public key for verification, built from its JWK.
#[derive(Debug, Clone)]
pub struct VerifyKey {
    pub kid: String,
    pub alg: Alg,
    material: Material,
}

#[derive(Debug, Clone)]
enum Material {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Point(Vec<u8>),
}

impl VerifyKey {
    /// Builds a verification key from a public JWK of ours.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwsError> {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).ok_or(JwsError::BadKey);
        let bytes = |k: &str| s(k).and_then(|v| b64_decode(v).ok_or(JwsError::BadKey));
        let kid = s("kid")?.to_string();
        let alg = Alg::parse(s("alg")?).ok_or(JwsError::BadKey)?;
        let material = match alg {
            Alg::Rs256 => Material::Rsa {
                n: bytes("n")?,
                e: bytes("e")?,
            },
            Alg::Es256 => {
                let mut point = vec![4u8];
                point.extend(bytes("x")?);
                point.extend(bytes("y")?);
                Material::Point(point)
            }
            Alg::EdDsa => Material::Point(bytes("x")?),
        };
        Ok(Self { kid, alg, material })
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), JwsError> {
        let ok = match (&self.material, self.alg) {
            (Material::Rsa { n, e }, Alg::Rs256) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
            (Material::Point(p), Alg::Es256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, p)
                    .verify(msg, sig)
                    .is_ok()
            }
            (Material::Point(p), Alg::EdDsa) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, p)
                    .verify(msg, sig)
                    .is_ok()
            }
            _ => false,
        };
        if ok { Ok(()) } else { Err(JwsError::Signature) }
    }
}

/// A verified token's header and claims.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

impl Verified {
    /// The `typ` header, if any.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }
}

/// Verifies a compact JWS against `find_key(kid)`, accepting only algorithms in `allowed`.
///
/// The checks run in this order, and the first that fails decides the error: three parts
/// (`Malformed`), a JSON object header (`Malformed`), none of `jku`/`x5u`/`jwk`/`x5c`/`crit`
/// (`Algorithm`), an allowed `alg` (`Algorithm`), a `kid` naming one of our keys
/// (`UnknownKey`), that key's algorithm equal to `alg` (`Algorithm`), the signature
/// (`Malformed`, `Signature`), and last a JSON object payload (`Malformed`).
pub fn verify<'k>(
    token: &str,
    allowed: &[Alg],
    find_key: impl Fn(&str) -> Option<&'k VerifyKey>,
) -> Result<Verified, JwsError> {
    let jws = Compact::parse(token)?;
    let alg = jws.alg(allowed)?;
    let kid = jws
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    let key = find_key(kid).ok_or(JwsError::UnknownKey)?;
    let payload = jws.verify_with(alg, key)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| JwsError::Malformed)?;
    Ok(Verified {
        header: jws.header,
        claims,
    })
}

/// A compact JWS split into its parts, with a header that passed the refusals that need no
/// key. Nothing in it is trusted until [`Compact::verify_with`] has checked the signature.
/// [`verify`] is built on it; the unit tests use it directly for the RFC examples, whose
/// headers name no `kid`.
struct Compact<'t> {
    header: Map<String, Value>,
    /// `BASE64URL(header) "." BASE64URL(payload)`, exactly as received.
    signing_input: &'t str,
    payload: &'t str,
    signature: &'t str,
}

impl<'t> Compact<'t> {
    /// Splits `token` into exactly three parts and decodes the header, refusing the headers
    /// that would make us fetch or accept a key from the token itself (`jku`, `x5u`, `jwk`,
    /// `x5c`) or that extend the rules in ways we do not implement (`crit`).
    fn parse(token: &'t str) -> Result<Self, JwsError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header: Map<String, Value> = b64_decode(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwsError::Malformed)?;
        for forbidden in ["jku", "x5u", "jwk", "x5c", "crit"] {
            if header.contains_key(forbidden) {
                return Err(JwsError::Algorithm);
            }
        }
        Ok(Self {
            header,
            signing_input: &token[..h.len() + 1 + c.len()],
            payload: c,
            signature: s,
        })
    }

    /// The header's `alg`, if it is one of `allowed` (never `none` or `HS*`: [`Alg::parse`]
    /// does not know them).
    fn alg(&self, allowed: &[Alg]) -> Result<Alg, JwsError> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .filter(|a| allowed.contains(a))
            .ok_or(JwsError::Algorithm)
    }

    /// Checks the signature with `key`, which must be a key for `alg`, and returns the
    /// decoded payload.
    fn verify_with(&self, alg: Alg, key: &VerifyKey) -> Result<Vec<u8>, JwsError> {
        if key.alg != alg {
            return Err(JwsError::Algorithm);
        }
        let sig = b64_decode(self.signature).ok_or(JwsError::Malformed)?;
        key.verify(self.signing_input.as_bytes(), &sig)?;
        b64_decode(self.payload).ok_or(JwsError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate::generate;
    use serde_json::json;

    /// RFC 7515 A.2 and A.3 sign the same payload (A.2.1: `{"iss":"joe",` CRLF
    /// ` "exp":1300819380,` CRLF ` "http://example.com/is_root":true}`).
    const RFC7515_PAYLOAD: &[u8] =
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

    /// RFC 7515 A.2.1: the RSA key's modulus (`e` is `AQAB`).
    const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP\
        CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7\
        OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uD\
        Zlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcD\
        TW9gb54h4FRWyuXpoQ";
    /// RFC 7515 A.2.1: the complete JWS Compact Serialization.
    const A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W\
        2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvk\
        SjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phC\
        nvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

    /// RFC 7515 A.3.1: the P-256 key.
    const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
    /// RFC 7515 A.3.1: the complete JWS (ECDSA signatures are random: verify, never compare).
    const A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    /// RFC 8037 A.1: the Ed25519 private (`d`, the seed) and public (`x`) key.
    const ED_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    /// RFC 8037 A.4: header `{"alg":"EdDSA"}`, payload `Example of Ed25519 signing`, and the
    /// signature (Ed25519 is deterministic, so ours must be these exact bytes).
    const ED_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const ED_SIG: &str =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn a2_key() -> VerifyKey {
        VerifyKey::from_jwk(&json!({"kty": "RSA", "kid": "rfc7515-a2", "alg": "RS256",
            "n": A2_N, "e": "AQAB"}))
        .expect("the RFC 7515 A.2 key loads")
    }

    fn a3_key() -> VerifyKey {
        VerifyKey::from_jwk(&json!({"kty": "EC", "crv": "P-256", "kid": "rfc7515-a3",
            "alg": "ES256", "x": A3_X, "y": A3_Y}))
        .expect("the RFC 7515 A.3 key loads")
    }

    fn ed_verify_key() -> VerifyKey {
        VerifyKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "kid": "rfc8037",
            "alg": "EdDSA", "x": ED_X}))
        .expect("the RFC 8037 key loads")
    }

    /// The RFC 8037 A.1 private key as PKCS#8 v1 (RFC 8410): the fixed DER prefix, then
    /// the 32-byte seed.
    fn ed_signing_key() -> SigningKey {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend(b64_decode(ED_D).expect("d is base64url"));
        SigningKey::from_pkcs8("rfc8037".into(), Alg::EdDsa, &der).expect("the seed loads")
    }

    /// Checks `token` with exactly `key` (the RFC examples carry no `kid`), returning the
    /// payload: the path [`verify`] takes after it has found the key.
    fn verify_rfc(token: &str, key: &VerifyKey) -> Result<Vec<u8>, JwsError> {
        let jws = Compact::parse(token)?;
        let alg = jws.alg(&Alg::ALL)?;
        jws.verify_with(alg, key)
    }

    /// A compact JWS with any header, signed by `key` over exactly these parts.
    fn signed(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = key.sign_bytes(input.as_bytes()).expect("sign");
        format!("{input}.{}", b64(&sig))
    }

    /// A compact JWS with any header and signature bytes.
    fn forged(header: &Value, claims: &Value, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(sig)
        )
    }

    #[test]
    fn rfc7515_a2_rs256_example_verifies_with_the_published_key() {
        let key = a2_key();
        assert_eq!(verify_rfc(A2_JWS, &key), Ok(RFC7515_PAYLOAD.to_vec()));
        // The same bytes under the P-256 key, or under an allowlist without RS256, fail.
        assert_eq!(verify_rfc(A2_JWS, &a3_key()), Err(JwsError::Algorithm));
        let jws = Compact::parse(A2_JWS).expect("parses");
        assert_eq!(jws.alg(&[Alg::Es256, Alg::EdDsa]), Err(JwsError::Algorithm));
        // The public path needs a `kid` naming one of our keys; the example has none.
        assert_eq!(
            verify(A2_JWS, &Alg::ALL, |_| Some(&key)).map(|v| v.claims),
            Err(JwsError::UnknownKey)
        );
    }

    #[test]
    fn rfc7515_a3_es256_example_verifies_with_the_published_key() {
        let key = a3_key();
        assert_eq!(verify_rfc(A3_JWS, &key), Ok(RFC7515_PAYLOAD.to_vec()));
        assert_eq!(verify_rfc(A3_JWS, &a2_key()), Err(JwsError::Algorithm));
    }

    #[test]
    fn rfc7515_a3_private_key_signs_what_the_published_key_verifies() {
        let rng = SystemRandom::new();
        let mut public = vec![4u8];
        public.extend(b64_decode(A3_X).expect("x"));
        public.extend(b64_decode(A3_Y).expect("y"));
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &b64_decode(A3_D).expect("d"),
            &public,
            &rng,
        )
        .expect("the RFC 7515 A.3 key pair loads");
        let key = SigningKey {
            kid: "rfc7515-a3".into(),
            alg: Alg::Es256,
            pair: Pair::Ec(pair),
            rng,
        };
        assert_eq!(key.public_bytes(), public);
        let input = A3_JWS.rsplit_once('.').expect("three parts").0;
        let sig = key.sign_bytes(input.as_bytes()).expect("sign");
        // RFC 7518 3.4: R || S, 32 bytes each, not DER.
        assert_eq!(sig.len(), 64);
        let ours = format!("{input}.{}", b64(&sig));
        assert_eq!(verify_rfc(&ours, &a3_key()), Ok(RFC7515_PAYLOAD.to_vec()));
    }

    #[test]
    fn rfc7518_es256_refuses_a_der_encoded_signature() {
        // The same key signing the A.3 input, but ASN.1 DER as in X.509, not JOSE's R || S.
        let rng = SystemRandom::new();
        let mut public = vec![4u8];
        public.extend(b64_decode(A3_X).expect("x"));
        public.extend(b64_decode(A3_Y).expect("y"));
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &b64_decode(A3_D).expect("d"),
            &public,
            &rng,
        )
        .expect("the RFC 7515 A.3 key pair loads");
        let input = A3_JWS.rsplit_once('.').expect("three parts").0;
        let der = pair.sign(&rng, input.as_bytes()).expect("sign");
        let token = format!("{input}.{}", b64(der.as_ref()));
        assert_eq!(verify_rfc(&token, &a3_key()), Err(JwsError::Signature));
    }

    #[test]
    fn rfc8037_a4_ed25519_signs_the_published_bytes() {
        let key = ed_signing_key();
        assert_eq!(key.public_bytes(), b64_decode(ED_X).expect("x"));
        assert_eq!(b64(br#"{"alg":"EdDSA"}"#), "eyJhbGciOiJFZERTQSJ9");
        assert_eq!(
            b64(b"Example of Ed25519 signing"),
            "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
        );
        let sig = key.sign_bytes(ED_SIGNING_INPUT.as_bytes()).expect("sign");
        assert_eq!(b64(&sig), ED_SIG);
    }

    #[test]
    fn rfc8037_a5_ed25519_example_verifies() {
        let token = format!("{ED_SIGNING_INPUT}.{ED_SIG}");
        assert_eq!(
            verify_rfc(&token, &ed_verify_key()),
            Ok(b"Example of Ed25519 signing".to_vec())
        );
        // The payload is not a JSON object, so the public path (which returns claims) never
        // accepts it, even with the right kid.
        let with_kid = signed(
            &ed_signing_key(),
            &json!({"alg": "EdDSA", "kid": "rfc8037"}),
            &json!("Example of Ed25519 signing"),
        );
        let key = ed_verify_key();
        assert_eq!(
            verify(&with_kid, &Alg::ALL, |kid| (kid == "rfc8037")
                .then_some(&key))
            .map(|v| v.claims),
            Err(JwsError::Malformed)
        );
    }

    #[test]
    fn a_changed_byte_anywhere_in_an_rfc_example_is_refused() {
        let ed = format!("{ED_SIGNING_INPUT}.{ED_SIG}");
        for (token, key) in [
            (A2_JWS, a2_key()),
            (A3_JWS, a3_key()),
            (&ed, ed_verify_key()),
        ] {
            for i in 0..token.len() {
                let mut bytes = token.as_bytes().to_vec();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                let changed = String::from_utf8(bytes).expect("ASCII");
                assert!(verify_rfc(&changed, &key).is_err(), "byte {i} of {token}");
            }
        }
    }

    /// One of our own keys (Ed25519, kid `k`), a token it signed, and its verification key.
    struct Ours {
        sk: SigningKey,
        vk: VerifyKey,
    }

    impl Ours {
        fn new() -> Self {
            let g = generate(Alg::EdDsa).expect("generate");
            let mut jwk = g.jwk;
            jwk["kid"] = json!("k");
            Self {
                sk: SigningKey::from_pkcs8("k".into(), Alg::EdDsa, &g.pkcs8).expect("load"),
                vk: VerifyKey::from_jwk(&jwk).expect("jwk"),
            }
        }

        fn verify(&self, token: &str) -> Result<Verified, JwsError> {
            verify(token, &Alg::ALL, |kid| (kid == "k").then_some(&self.vk))
        }
    }

    #[test]
    fn our_own_tokens_verify() {
        // The control for every refusal below: the same key and header shape are accepted.
        let ours = Ours::new();
        let token = ours.sk.sign("JWT", &json!({"sub": "a"})).expect("sign");
        let ok = ours.verify(&token).expect("verifies");
        assert_eq!(ok.claims["sub"], "a");
        assert_eq!(ok.typ(), Some("JWT"));
        let custom = signed(&ours.sk, &json!({"alg": "EdDSA", "kid": "k"}), &json!({}));
        assert!(ours.verify(&custom).is_ok());
    }

    #[test]
    fn alg_none_is_refused() {
        let ours = Ours::new();
        for alg in ["none", "None", "NONE", ""] {
            let header = json!({"alg": alg, "kid": "k"});
            // Unsigned (the `none` form, empty signature) and with a real signature.
            let unsigned = forged(&header, &json!({}), b"");
            assert!(unsigned.ends_with('.'));
            assert_eq!(
                ours.verify(&unsigned).map(|v| v.claims),
                Err(JwsError::Algorithm)
            );
            let token = signed(&ours.sk, &header, &json!({}));
            assert_eq!(
                ours.verify(&token).map(|v| v.claims),
                Err(JwsError::Algorithm)
            );
        }
        let no_alg = signed(&ours.sk, &json!({"kid": "k"}), &json!({}));
        assert_eq!(
            ours.verify(&no_alg).map(|v| v.claims),
            Err(JwsError::Algorithm)
        );
        let not_a_string = signed(&ours.sk, &json!({"alg": ["EdDSA"], "kid": "k"}), &json!({}));
        assert_eq!(
            ours.verify(&not_a_string).map(|v| v.claims),
            Err(JwsError::Algorithm)
        );
    }

    #[test]
    fn hmac_with_the_public_key_as_secret_is_refused() {
        // The classic confusion: HS256 keyed with bytes the attacker knows (our public key,
        // raw or as its JWK text).
        let ours = Ours::new();
        let public = ours.sk.public_bytes();
        let jwk_text = serde_json::to_vec(&json!({"kty": "OKP", "crv": "Ed25519",
            "x": b64(&public), "kid": "k", "alg": "EdDSA"}))
        .expect("json");
        for (name, alg) in [
            ("HS256", ring::hmac::HMAC_SHA256),
            ("HS384", ring::hmac::HMAC_SHA384),
            ("HS512", ring::hmac::HMAC_SHA512),
        ] {
            for secret in [&public[..], &jwk_text[..]] {
                let input = format!(
                    "{}.{}",
                    b64(json!({"alg": name, "kid": "k"}).to_string().as_bytes()),
                    b64(b"{}")
                );
                let mac = ring::hmac::sign(&ring::hmac::Key::new(alg, secret), input.as_bytes());
                let token = format!("{input}.{}", b64(mac.as_ref()));
                assert_eq!(
                    ours.verify(&token).map(|v| v.claims),
                    Err(JwsError::Algorithm)
                );
            }
        }
    }

    #[test]
    fn algorithms_we_do_not_implement_are_refused() {
        let ours = Ours::new();
        for alg in [
            "RS384", "RS512", "PS256", "ES384", "ES512", "ES256K", "Ed25519", "eddsa",
        ] {
            let token = signed(&ours.sk, &json!({"alg": alg, "kid": "k"}), &json!({}));
            assert_eq!(
                ours.verify(&token).map(|v| v.claims),
                Err(JwsError::Algorithm),
                "{alg}"
            );
        }
        // A supported algorithm outside the caller's allowlist.
        let token = ours.sk.sign("JWT", &json!({})).expect("sign");
        let refused = verify(&token, &[Alg::Rs256, Alg::Es256], |_| Some(&ours.vk));
        assert_eq!(refused.map(|v| v.claims), Err(JwsError::Algorithm));
    }

    #[test]
    fn kid_and_alg_must_agree() {
        let ours = Ours::new();
        let rsa = a2_key();
        let ec = a3_key();
        let keys = |kid: &str| match kid {
            "k" => Some(&ours.vk),
            "rsa" => Some(&rsa),
            "ec" => Some(&ec),
            _ => None,
        };
        // Our Ed25519 key's signature, with a header claiming another algorithm or naming a
        // key of another algorithm.
        for header in [
            json!({"alg": "RS256", "kid": "k"}),
            json!({"alg": "ES256", "kid": "k"}),
            json!({"alg": "EdDSA", "kid": "rsa"}),
            json!({"alg": "EdDSA", "kid": "ec"}),
            json!({"alg": "ES256", "kid": "rsa"}),
        ] {
            let token = signed(&ours.sk, &header, &json!({}));
            assert_eq!(
                verify(&token, &Alg::ALL, keys).map(|v| v.claims),
                Err(JwsError::Algorithm),
                "{header}"
            );
        }
        // No kid, a kid we do not have, a kid that is not a string.
        for header in [
            json!({"alg": "EdDSA"}),
            json!({"alg": "EdDSA", "kid": "other"}),
            json!({"alg": "EdDSA", "kid": 1}),
            json!({"alg": "EdDSA", "kid": ["k"]}),
        ] {
            let token = signed(&ours.sk, &header, &json!({}));
            assert_eq!(
                verify(&token, &Alg::ALL, keys).map(|v| v.claims),
                Err(JwsError::UnknownKey),
                "{header}"
            );
        }
    }

    #[test]
    fn key_sources_in_the_header_and_crit_are_refused_even_when_signed() {
        let ours = Ours::new();
        let our_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&ours.sk.public_bytes()),
            "kid": "k", "alg": "EdDSA"});
        for (name, value) in [
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            ("jwk", our_jwk),
            ("x5c", json!(["MIIB"])),
            ("crit", json!(["exp"])),
            ("crit", json!([])),
            ("jku", Value::Null),
        ] {
            let mut header = json!({"alg": "EdDSA", "kid": "k"});
            header[name] = value;
            let token = signed(&ours.sk, &header, &json!({}));
            assert_eq!(
                ours.verify(&token).map(|v| v.claims),
                Err(JwsError::Algorithm),
                "{header}"
            );
        }
    }

    #[test]
    fn malformed_compact_serialisations_are_refused() {
        let ours = Ours::new();
        let good = ours.sk.sign("JWT", &json!({"sub": "a"})).expect("sign");
        let (h, rest) = good.split_once('.').expect("parts");
        let (c, s) = rest.split_once('.').expect("parts");
        let array_header = b64(br#"["EdDSA"]"#);
        let padded = format!("{h}=.{c}.{s}");
        let not_json = signed(&ours.sk, &json!({"alg": "EdDSA", "kid": "k"}), &json!([1]));
        for bad in [
            "",
            ".",
            "..",
            "...",
            &format!("{h}.{c}"),
            &format!("{good}."),
            &format!("{h}.{c}.{s}.{s}"),
            &format!("!{h}.{c}.{s}"),
            &format!("{array_header}.{c}.{s}"),
            &padded,
            &format!("{h}.{c}.{s}="),
            &not_json,
        ] {
            assert_eq!(
                ours.verify(bad).map(|v| v.claims),
                Err(JwsError::Malformed),
                "{bad}"
            );
        }
        // A valid signature over other bytes.
        let other = ours.sk.sign("JWT", &json!({"sub": "b"})).expect("sign");
        let swapped = format!("{h}.{c}.{}", other.rsplit_once('.').expect("parts").1);
        assert_eq!(
            ours.verify(&swapped).map(|v| v.claims),
            Err(JwsError::Signature)
        );
    }
}
