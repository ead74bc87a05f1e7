//! PHC strings for argon2 (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, standard base64
//! without padding), written and read here so that only the raw argon2 function is needed.

use argon2::{Algorithm, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// A parsed PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phc {
    pub algorithm: Algorithm,
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Phc {
    /// Parses a PHC string; `None` for anything malformed or not argon2 version 19.
    pub fn parse(s: &str) -> Option<Phc> {
        let mut parts = s.split('$');
        if !parts.next()?.is_empty() {
            return None;
        }
        let algorithm = match parts.next()? {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return None,
        };
        if parts.next()? != "v=19" {
            return None;
        }
        // The PHC format's Argon2 section: exactly `m`, `t`, `p`, in that order, each once.
        let mut params = parts.next()?.split(',');
        let m = param(params.next()?, "m")?;
        let t = param(params.next()?, "t")?;
        let p = param(params.next()?, "p")?;
        if params.next().is_some() {
            return None;
        }
        let salt = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        let hash = STANDARD_NO_PAD.decode(parts.next()?).ok()?;
        if parts.next().is_some() || salt.len() < 8 || !(16..=64).contains(&hash.len()) {
            return None;
        }
        Some(Phc {
            algorithm,
            m_cost: m,
            t_cost: t,
            p_cost: p,
            salt,
            hash,
        })
    }

    /// The argon2 parameters of this string.
    pub fn params(&self) -> Option<Params> {
        Params::new(self.m_cost, self.t_cost, self.p_cost, Some(self.hash.len())).ok()
    }

    /// Formats an argon2id (v19) PHC string.
    pub fn format(params: &Params, salt: &[u8], hash: &[u8]) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        )
    }
}

/// The value of `name=value`, written as the PHC format's decimal encoding requires: ASCII
/// digits only (no sign, no spaces), no leading zero, at most 10 digits. One number has one
/// spelling, so a string we accept is the string we would write.
fn param(pair: &str, name: &str) -> Option<u32> {
    let value = pair.strip_prefix(name)?.strip_prefix('=')?;
    let plain = (1..=10).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    plain.then(|| value.parse().ok()).flatten()
}

/// The version every string we write and accept uses.
pub const VERSION: Version = Version::V0x13;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let params = Params::new(19456, 2, 1, Some(32)).expect("params");
        let s = Phc::format(&params, &[1u8; 16], &[2u8; 32]);
        assert!(s.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let phc = Phc::parse(&s).expect("parses");
        assert_eq!((phc.m_cost, phc.t_cost, phc.p_cost), (19456, 2, 1));
        assert_eq!(phc.salt, vec![1u8; 16]);
        for bad in [
            "",
            "plain",
            "$argon2id$v=16$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
            "$bcrypt$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
            &s.replace("m=19456", "m=x"),
            &format!("{s}$extra"),
        ] {
            assert!(Phc::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parameters_have_one_spelling_only() {
        // Found by tests/it/prop_phc.rs: these were read as m=19456,t=2,p=1 (or with the
        // last of two values), though the PHC format allows one order, each parameter once,
        // and plain decimal.
        let good = "$argon2id$v=19$m=19456,t=2,p=1$AQEBAQEBAQEBAQEBAQEBAQ\
                    $AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
        assert!(Phc::parse(good).is_some());
        for params in [
            "m=+19456,t=2,p=1",
            "m=019456,t=2,p=1",
            "m=19456,t=02,p=1",
            "m=19456,t=2,p=+1",
            "t=2,m=19456,p=1",
            "m=19456,p=1,t=2",
            "m=1,m=19456,t=2,p=1",
            "m=19456,t=2,p=1,p=1",
            "m=19456,t=2",
            "m=19456,t=2,p=1,",
            "m=19456,t=2,p=1,keyid=AA",
            "m= 19456,t=2,p=1",
            "m=00000019456,t=2,p=1",
        ] {
            let bad = good.replace("m=19456,t=2,p=1", params);
            assert!(Phc::parse(&bad).is_none(), "{bad}");
        }
    }
}
