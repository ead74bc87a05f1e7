//! Properties of compact JWS verification (`keys::jws::verify`, SECURITY.md 9.1.1-9.1.3):
//! nothing panics, our own tokens round-trip, any change to a valid token is refused, and a
//! correctly signed token is accepted exactly when its header passes every rule.

use std::sync::OnceLock;

use nyckel::crypto::b64;
use nyckel::keys::generate::generate;
use nyckel::keys::jws::{Alg, JwsError, SigningKey, VerifyKey, verify};
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use ring::signature::Ed25519KeyPair;
use serde_json::{Map, Value, json};

use crate::helpers::prop::{config, hostile, hostile_or};

/// One key of ours per algorithm, with kid `rs`, `es` or `ed`; generated once per run (RSA
/// 3072 takes a moment).
struct Key {
    alg: Alg,
    sign: SigningKey,
    verify: VerifyKey,
    /// The same Ed25519 key as `sign`, to sign headers `SigningKey::sign` would not write.
    raw_ed: Option<Ed25519KeyPair>,
}

fn keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [(Alg::Rs256, "rs"), (Alg::Es256, "es"), (Alg::EdDsa, "ed")]
            .into_iter()
            .map(|(alg, kid)| {
                let g = generate(alg).expect("generate");
                let mut jwk = g.jwk;
                jwk["kid"] = json!(kid);
                Key {
                    alg,
                    sign: SigningKey::from_pkcs8(kid.into(), alg, &g.pkcs8).expect("load"),
                    verify: VerifyKey::from_jwk(&jwk).expect("jwk"),
                    raw_ed: (alg == Alg::EdDsa)
                        .then(|| Ed25519KeyPair::from_pkcs8(&g.pkcs8).expect("ed25519")),
                }
            })
            .collect()
    })
}

fn find(kid: &str) -> Option<&'static VerifyKey> {
    keys()
        .iter()
        .find(|k| k.verify.kid == kid)
        .map(|k| &k.verify)
}

fn ed() -> &'static Ed25519KeyPair {
    keys()
        .iter()
        .find_map(|k| k.raw_ed.as_ref())
        .expect("an Ed25519 key")
}

/// JSON without floats (which need not survive a text round trip bit for bit).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(
        prop_oneof!["sub|iss|aud|exp|nonce", any::<String>()],
        json_value(),
        0..6,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn allowlist() -> impl Strategy<Value = Vec<Alg>> {
    subsequence(Alg::ALL.to_vec(), 0..=3)
}

/// A header: `alg` and `kid` from the values that matter (or absent, or not strings), plus
/// other members, among them the ones that must be refused.
fn header() -> impl Strategy<Value = Map<String, Value>> {
    let alg = prop_oneof![
        4 => select(vec!["EdDSA", "ES256", "RS256", "none", "HS256", "eddsa", ""]).prop_map(Value::from),
        1 => json_value(),
    ];
    let kid = prop_oneof![
        4 => select(vec!["ed", "es", "rs", "other", ""]).prop_map(Value::from),
        1 => json_value(),
    ];
    let extra_name = prop_oneof![
        select(vec![
            "typ", "cty", "jku", "x5u", "jwk", "x5c", "crit", "b64", "zip", "x5t"
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ];
    (
        proptest::option::weighted(0.9, alg),
        proptest::option::weighted(0.9, kid),
        proptest::collection::vec((extra_name, json_value()), 0..3),
    )
        .prop_map(|(alg, kid, extra)| {
            let mut h = Map::new();
            for (k, v) in extra {
                h.insert(k, v);
            }
            if let Some(alg) = alg {
                h.insert("alg".into(), alg);
            }
            if let Some(kid) = kid {
                h.insert("kid".into(), kid);
            }
            h
        })
}

/// A compact JWS over exactly these parts, signed by our Ed25519 key.
fn ed_signed(header: &Map<String, Value>, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(Value::Object(header.clone()).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = ed().sign(input.as_bytes());
    format!("{input}.{}", b64(sig.as_ref()))
}

/// What `verify` must answer for a token our Ed25519 key signed over `header` and `claims`.
fn expected(header: &Map<String, Value>, claims: &Value, allowed: &[Alg]) -> Result<(), JwsError> {
    if ["jku", "x5u", "jwk", "x5c", "crit"]
        .iter()
        .any(|k| header.contains_key(*k))
    {
        return Err(JwsError::Algorithm);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse);
    if !alg.is_some_and(|a| allowed.contains(&a)) {
        return Err(JwsError::Algorithm);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let Some(key) = kid.and_then(find) else {
        return Err(JwsError::UnknownKey);
    };
    if alg != Some(key.alg) {
        return Err(JwsError::Algorithm);
    }
    if key.alg != Alg::EdDsa {
        // Our Ed25519 signature under the P-256 or RSA key.
        return Err(JwsError::Signature);
    }
    if !claims.is_object() {
        return Err(JwsError::Malformed);
    }
    Ok(())
}

/// A base64url part: of JSON, of bytes, or not base64 at all.
fn part() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|v| b64(v.to_string().as_bytes())),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|b| b64(&b)),
        hostile_or(&["A", "_", "-", "=", "+", "/", "."]),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_verify_never_panics_on_any_string(
        token in hostile_or(&["eyJ", "e30", ".", "A", "_", "-", "=", "%", "\u{fffd}"]),
        allowed in allowlist(),
    ) {
        prop_assert!(verify(&token, &allowed, find).is_err());
    }

    #[test]
    fn prop_unsigned_three_part_tokens_are_refused(
        header in header(),
        header_part in prop_oneof![3 => Just(None), 1 => part().prop_map(Some)],
        payload in part(),
        signature in part(),
        allowed in allowlist(),
    ) {
        // Headers that pass every rule up to the signature, followed by one we did not make.
        let h = header_part.unwrap_or_else(|| b64(Value::Object(header).to_string().as_bytes()));
        let token = format!("{h}.{payload}.{signature}");
        prop_assert!(verify(&token, &allowed, find).is_err());
    }

    #[test]
    fn prop_our_tokens_round_trip(
        key in select(vec![0usize, 1, 2]),
        typ in prop_oneof!["JWT|at\\+jwt|logout\\+jwt", any::<String>()],
        claims in claims(),
    ) {
        let key = &keys()[key];
        let token = key.sign.sign(&typ, &Value::Object(claims.clone())).expect("sign");
        let ok = verify(&token, &[key.alg], find).expect("our own token verifies");
        prop_assert_eq!(ok.header.get("alg"), Some(&json!(key.alg.name())));
        prop_assert_eq!(ok.typ(), Some(typ.as_str()));
        prop_assert_eq!(ok.claims, claims);
        // Outside the allowlist it is refused, signature and all.
        let others: Vec<Alg> = Alg::ALL.into_iter().filter(|a| *a != key.alg).collect();
        prop_assert_eq!(verify(&token, &others, find).map(|v| v.claims), Err(JwsError::Algorithm));
    }

    #[test]
    fn prop_any_change_to_a_valid_token_is_refused(
        key in select(vec![0usize, 1, 2]),
        claims in claims(),
        at in any::<Index>(),
        c in prop_oneof![any::<char>(), select(vec!['A', 'B', 'a', '_', '-', '.', '=', '0'])],
        how in 0..4u8,
    ) {
        let key = &keys()[key];
        let token = key.sign.sign("JWT", &Value::Object(claims)).expect("sign");
        prop_assert!(verify(&token, &Alg::ALL, find).is_ok());
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        match how {
            0 => {
                prop_assume!(chars[i] != c);
                chars[i] = c;
            }
            1 => chars.insert(i, c),
            2 => {
                chars.remove(i);
            }
            _ => chars.truncate(i),
        }
        let changed: String = chars.into_iter().collect();
        prop_assert!(verify(&changed, &Alg::ALL, find).is_err(), "{changed}");
    }

    #[test]
    fn prop_a_signed_token_is_accepted_exactly_when_its_header_passes_every_rule(
        header in header(),
        claims in prop_oneof![4 => claims().prop_map(Value::Object), 1 => json_value()],
        allowed in allowlist(),
    ) {
        let token = ed_signed(&header, &claims);
        let got = verify(&token, &allowed, find);
        let want = expected(&header, &claims, &allowed);
        prop_assert_eq!(got.as_ref().map(|_| ()), want.as_ref().map(|_| ()), "{:?}", header);
        if let Ok(v) = got {
            prop_assert_eq!(Value::Object(v.claims), claims);
            prop_assert_eq!(v.header, header);
        }
    }

    #[test]
    fn prop_key_sources_in_a_signed_header_are_refused(
        header in header(),
        name in select(vec!["jku", "x5u", "jwk", "x5c", "crit"]),
        value in prop_oneof![json_value(), hostile().prop_map(Value::from)],
    ) {
        // However well formed the rest is, and even with a good alg and kid.
        let mut header = header;
        header.insert("alg".into(), json!("EdDSA"));
        header.insert("kid".into(), json!("ed"));
        header.insert(name.into(), value);
        let token = ed_signed(&header, &json!({}));
        prop_assert_eq!(verify(&token, &Alg::ALL, find).map(|v| v.claims), Err(JwsError::Algorithm));
    }
}
