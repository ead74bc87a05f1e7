//! Encryption of backup objects with age (X25519 recipients only), and the SHA-256 writer
//! that checksums what passes through. Public keys come from the configuration; the identity
//! (private key) is read from the file the operator passes to `verify`/`restore` and never
//! stored by Nyckel.

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;

/// Why encryption or decryption failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("{0}")]
    Key(String),
    #[error(
        "cannot decrypt {0}: the identity does not match any recipient of this backup (wrong key?)"
    )]
    NoMatchingKey(String),
    #[error("cannot decrypt {0}: {1} (damaged or truncated object)")]
    Damaged(String, String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Parses an age X25519 recipient (`age1...`).
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, CryptError> {
    age::x25519::Recipient::from_str(s.trim())
        .map_err(|e| CryptError::Key(format!("{s:?} is not an age X25519 recipient: {e}")))
}

/// The recipients of `backup.recipients`; at least one.
pub fn recipients(list: &[String]) -> Result<Vec<age::x25519::Recipient>, CryptError> {
    if list.is_empty() {
        return Err(CryptError::Key(
            "backup.recipients is empty: configure at least one age public key (nyckel backup keygen makes a pair)".into(),
        ));
    }
    list.iter().map(|r| parse_recipient(r)).collect()
}

/// Reads the X25519 identities (`AGE-SECRET-KEY-1...` lines; `#` comments) from `path`.
pub fn read_identities(path: &Path) -> Result<Vec<age::x25519::Identity>, CryptError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CryptError::Key(format!("cannot read identity file {}: {e}", path.display()))
    })?;
    let ids: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            age::x25519::Identity::from_str(l).map_err(|_| {
                CryptError::Key(format!(
                    "{}: a line is not an age X25519 identity (AGE-SECRET-KEY-1...)",
                    path.display()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(CryptError::Key(format!(
            "{} holds no age identity",
            path.display()
        )));
    }
    Ok(ids)
}

/// A new identity as (identity file text, recipient).
pub fn generate(now: i64) -> (String, String) {
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let text = format!(
        "# created: {} by nyckel backup keygen\n# public key: {public}\n{}\n",
        crate::clock::utc_date(now),
        id.to_string().expose_secret()
    );
    (text, public)
}

/// Wraps `out` so that what is written is encrypted to `recipients`; call
/// [`age::stream::StreamWriter::finish`] at the end.
pub fn encrypt_to<W: Write>(
    recipients: &[age::x25519::Recipient],
    out: W,
) -> Result<age::stream::StreamWriter<W>, CryptError> {
    let list = recipients.iter().map(|r| r as &dyn age::Recipient);
    let enc = age::Encryptor::with_recipients(list)
        .map_err(|e| CryptError::Key(format!("cannot encrypt: {e}")))?;
    Ok(enc.wrap_output(out)?)
}

/// Encrypts a small object in memory.
pub fn encrypt(recipients: &[age::x25519::Recipient], data: &[u8]) -> Result<Vec<u8>, CryptError> {
    let mut w = encrypt_to(recipients, Vec::new())?;
    w.write_all(data)?;
    Ok(w.finish()?)
}

/// A reader of the plaintext of the age object `data` (named `what` in errors).
pub fn decrypt_reader<'a>(
    identities: &'a [age::x25519::Identity],
    data: &'a [u8],
    what: &str,
) -> Result<impl Read + 'a, CryptError> {
    let dec = age::Decryptor::new_buffered(data)
        .map_err(|e| CryptError::Damaged(what.to_string(), e.to_string()))?;
    dec.decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptError::NoMatchingKey(what.to_string()),
            other => CryptError::Damaged(what.to_string(), other.to_string()),
        })
}

/// Decrypts a small object in memory.
pub fn decrypt(
    identities: &[age::x25519::Identity],
    data: &[u8],
    what: &str,
) -> Result<Vec<u8>, CryptError> {
    let mut r = decrypt_reader(identities, data, what)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| CryptError::Damaged(what.to_string(), e.to_string()))?;
    Ok(out)
}

/// Counts and checksums (SHA-256) what is written through it.
pub struct HashWriter<W> {
    inner: W,
    ctx: ring::digest::Context,
    pub bytes: u64,
}

impl<W: Write> HashWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the SHA-256 in hex.
    pub fn finish(self) -> (W, u64, String) {
        let digest = self.ctx.finish();
        (self.inner, self.bytes, super::format::hex(digest.as_ref()))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
