//! Generating signing keys: RSA 3072 (RS256), P-256 (ES256) and Ed25519 (EdDSA), each as
//! PKCS#8 DER plus its public JWK (SECURITY.md 11.2.3: at least 128-bit security).

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::crypto::{b64, random_id};
use crate::error::{Error, Result};
use crate::keys::jws::Alg;

/// RSA modulus size.
pub const RSA_BITS: usize = 3072;

/// A freshly generated key: its id, private PKCS#8 DER and public JWK.
pub struct Generated {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub jwk: Value,
}

/// Generates a key for `alg`. RSA generation takes a while: call it off the async runtime.
pub fn generate(alg: Alg) -> Result<Generated> {
    let kid = random_id();
    let rng = SystemRandom::new();
    let crypto = |what: &str| Error::Crypto(format!("generating {what} key"));
    let (pkcs8, jwk) = match alg {
        Alg::Rs256 => {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
                .map_err(|_| crypto("RSA"))?;
            let der = key.to_pkcs8_der().map_err(|_| crypto("RSA"))?;
            let jwk = json!({
                "kty": "RSA",
                "n": b64(&key.n().to_bytes_be()),
                "e": b64(&key.e().to_bytes_be()),
            });
            (der.as_bytes().to_vec(), jwk)
        }
        Alg::Es256 => {
            let doc =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| crypto("P-256"))?;
            let pair = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                doc.as_ref(),
                &rng,
            )
            .map_err(|_| crypto("P-256"))?;
            let point = pair.public_key().as_ref();
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(&point[1..33]),
                "y": b64(&point[33..65]),
            });
            (doc.as_ref().to_vec(), jwk)
        }
        Alg::EdDsa => {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| crypto("Ed25519"))?;
            let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| crypto("Ed25519"))?;
            let jwk = json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(pair.public_key().as_ref()),
            });
            (doc.as_ref().to_vec(), jwk)
        }
    };
    let mut jwk = jwk;
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("kid".into(), json!(kid));
        obj.insert("alg".into(), json!(alg.name()));
        obj.insert("use".into(), json!("sig"));
    }
    Ok(Generated { kid, pkcs8, jwk })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::jws::{SigningKey, VerifyKey, verify};

    #[test]
    fn every_algorithm_signs_and_verifies_and_rejects_tampering() {
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Rs256] {
            let g = generate(alg).expect("generate");
            let sk = SigningKey::from_pkcs8(g.kid.clone(), alg, &g.pkcs8).expect("load");
            let vk = VerifyKey::from_jwk(&g.jwk).expect("jwk");
            let token = sk.sign("JWT", &json!({"sub": "a"})).expect("sign");
            let ok =
                verify(&token, &Alg::ALL, |kid| (kid == g.kid).then_some(&vk)).expect("verify");
            assert_eq!(ok.claims["sub"], "a");
            // Tampered payload.
            let mut parts: Vec<&str> = token.split('.').collect();
            let other = b64(br#"{"sub":"b"}"#);
            parts[1] = &other;
            let bad = parts.join(".");
            assert!(verify(&bad, &Alg::ALL, |_| Some(&vk)).is_err());
            // Algorithm not on the allowlist.
            let others: Vec<Alg> = Alg::ALL.into_iter().filter(|a| *a != alg).collect();
            assert!(verify(&token, &others, |_| Some(&vk)).is_err());
        }
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let g = generate(Alg::Es256).expect("generate");
        let vk = VerifyKey::from_jwk(&g.jwk).expect("jwk");
        for alg in ["none", "HS256"] {
            let header = b64(json!({"alg": alg, "kid": g.kid}).to_string().as_bytes());
            let token = format!("{header}.{}.", b64(b"{}"));
            assert!(verify(&token, &Alg::ALL, |_| Some(&vk)).is_err());
        }
    }
}
