//! Compact JWS for our own tokens: signing with RS256, ES256 or EdDSA, and verification with
//! an algorithm allowlist. Verification only ever uses keys from our own key ring, found by
//! `kid`; `alg: none`, HMAC algorithms, `jku`/`x5u`/`jwk` headers and `crit` are refused
//! (SECURITY.md 9.1.1-9.1.3).

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

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

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
pub fn verify<'k>(
    token: &str,
    allowed: &[Alg],
    find_key: impl Fn(&str) -> Option<&'k VerifyKey>,
) -> Result<Verified, JwsError> {
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
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse)
        .filter(|a| allowed.contains(a))
        .ok_or(JwsError::Algorithm)?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    let key = find_key(kid).ok_or(JwsError::UnknownKey)?;
    if key.alg != alg {
        return Err(JwsError::Algorithm);
    }
    let sig = b64_decode(s).ok_or(JwsError::Malformed)?;
    let signed_len = h.len() + 1 + c.len();
    key.verify(&token.as_bytes()[..signed_len], &sig)?;
    let claims: Map<String, Value> = b64_decode(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    Ok(Verified { header, claims })
}
