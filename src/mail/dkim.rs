//! DKIM signing (RFC 6376) of rendered messages, when `mail.dkim_*` is configured: a
//! `DKIM-Signature` header with `a=rsa-sha256` (RSA keys of 2048 to 4096 bits) or
//! `a=ed25519-sha256` (RFC 8463), `c=relaxed/relaxed`, `t=` the message's creation time, and
//! `h=` naming every present header worth signing once more than it occurs ("oversigning":
//! a header added on the way, such as a second `Subject`, breaks the signature).
//!
//! Why hand-written: the maintained DKIM crates either verify only, sign through their own
//! mail model (we render RFC 5322 bytes ourselves and lettre sends them as they are), or pull
//! in a DNS resolver we do not need for signing. Signing is the canonicalisation and one
//! RSA or Ed25519 signature; the tests check every signature with the independent dkimpy.
//!
//! The key is read once at start ([`Signer::from_config`]); a key that cannot be used is a
//! start-up error naming `mail.dkim_key_file`. The key never reaches a log, an error text or
//! `Debug`. The canonicalisations of RFC 6376 3.4 are [`relaxed_header`] and
//! [`relaxed_body`]; signatures are checked in the tests by an independent verifier (dkimpy).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

use crate::clock::UnixTime;
use crate::config::MailConfig;

/// Headers signed when present (RFC 6376 5.4.1's list, as far as Nyckel writes them).
const SIGNED: [&str; 15] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "List-Id",
    "List-Unsubscribe",
];

/// The longest line of the `DKIM-Signature` header, without its CRLF.
const MAX_LINE: usize = 76;

/// Why a key could not be loaded or a message signed. Never holds key material.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DkimError(String);

/// The private key.
enum Key {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A loaded signing key with its domain (`d=`) and selector (`s=`). Its `Debug` shows
/// those and the algorithm, never the key.
pub struct Signer {
    domain: String,
    selector: String,
    key: Key,
}

crate::redact::debug_showing!(Signer { domain, selector } redacted { key } computed {
    algorithm = |s| s.algorithm()
});

impl crate::redact::Redactable for Key {
    fn is_set(&self) -> bool {
        true
    }
}

impl Signer {
    /// The signer `mail.dkim_*` asks for (`None` when DKIM is not configured). Reads and
    /// checks the key file; errors name `mail.dkim_key_file` and the path.
    pub fn from_config(mail: &MailConfig) -> Result<Option<Self>, DkimError> {
        let (Some(domain), Some(selector)) = (&mail.dkim_domain, &mail.dkim_selector) else {
            return Ok(None);
        };
        let signer = match (&mail.dkim_key_file, &mail.dkim_key) {
            (Some(file), _) => {
                let pem = std::fs::read(file).map_err(|e| {
                    DkimError(format!(
                        "mail.dkim_key_file: cannot read {}: {e}",
                        file.display()
                    ))
                })?;
                Self::from_pem(domain, selector, &pem).map_err(|e| {
                    DkimError(format!("mail.dkim_key_file: {}: {e}", file.display()))
                })?
            }
            (None, Some(pem)) => Self::from_pem(domain, selector, pem.as_bytes()).map_err(|e| {
                DkimError(format!(
                    "mail.dkim_key_file (the file of NYCKEL_MAIL__DKIM_KEY_FILE): {e}"
                ))
            })?,
            (None, None) => return Ok(None),
        };
        tracing::info!(
            algorithm = signer.algorithm(),
            dns_name = %signer.dns_name(),
            "DKIM signing enabled; publish the TXT record {}: \"{}\"",
            signer.dns_name(),
            signer.dns_record()
        );
        if let Ok(sender) = crate::mail::eml::Sender::parse(&mail.from) {
            let from = sender.domain().to_ascii_lowercase();
            let d = domain.to_ascii_lowercase();
            if from != d && !from.ends_with(&format!(".{d}")) {
                tracing::warn!(
                    "mail.dkim_domain {domain:?} is not the domain of mail.from ({from}) or a parent of it: receivers applying DMARC will not count the signature"
                );
            }
        }
        Ok(Some(signer))
    }

    /// A signer from a PEM PKCS#8 private key (RSA of 2048 to 4096 bits, or Ed25519).
    pub fn from_pem(domain: &str, selector: &str, pem: &[u8]) -> Result<Self, DkimError> {
        let der = pem_private_key(pem)?;
        let key = match key_algorithm(&der) {
            Some(Algorithm::Rsa) => Key::Rsa(RsaKeyPair::from_pkcs8(&der).map_err(|e| {
                DkimError(format!(
                    "the RSA key is not usable ({e}); an unencrypted RSA key of 2048 to 4096 bits is needed"
                ))
            })?),
            Some(Algorithm::Ed25519) => Key::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|e| {
                    DkimError(format!("the Ed25519 key is not usable ({e})"))
                })?,
            ),
            None => {
                return Err(DkimError(
                    "the key is neither RSA nor Ed25519 (PKCS#8)".into(),
                ));
            }
        };
        if matches!(&key, Key::Rsa(k) if k.public().modulus_len() < 256) {
            return Err(DkimError("an RSA key needs at least 2048 bits".into()));
        }
        Ok(Self {
            domain: domain.to_string(),
            selector: selector.to_string(),
            key,
        })
    }

    /// The `a=` tag: `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// Where receivers look for the key: `<selector>._domainkey.<domain>`.
    pub fn dns_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }

    /// The TXT record to publish at [`Signer::dns_name`]: `v=DKIM1; k=rsa; p=<base64 of
    /// the SubjectPublicKeyInfo>` or `v=DKIM1; k=ed25519; p=<base64 of the 32-byte key>`.
    pub fn dns_record(&self) -> String {
        let (k, p) = match &self.key {
            Key::Rsa(k) => ("rsa", rsa_spki(k.public().as_ref())),
            Key::Ed25519(k) => ("ed25519", k.public_key().as_ref().to_vec()),
        };
        format!("v=DKIM1; k={k}; p={}", B64.encode(p))
    }

    /// `document` (a whole message, CRLF line ends) with a `DKIM-Signature` header in front,
    /// signed at `created_at` (the `t=` tag).
    pub fn sign(&self, document: &[u8], created_at: UnixTime) -> Result<Vec<u8>, DkimError> {
        let split = find(document, b"\r\n\r\n")
            .ok_or_else(|| DkimError("the message has no blank line after its headers".into()))?;
        let fields = header_fields(&document[..split + 2]);
        let body = &document[split + 4..];
        let body_hash = B64.encode(digest(&SHA256, &relaxed_body(body)));

        // h=: each signed header as often as it occurs, plus once more.
        let mut names: Vec<&str> = Vec::new();
        for name in SIGNED {
            let count = fields
                .iter()
                .filter(|f| field_name(f).eq_ignore_ascii_case(name.as_bytes()))
                .count();
            if count > 0 {
                names.extend(std::iter::repeat_n(name, count + 1));
            }
        }

        let mut header = Folder::new("DKIM-Signature:");
        header.word("v=1;", true);
        header.word(&format!("a={};", self.algorithm()), true);
        header.word("c=relaxed/relaxed;", true);
        header.word(&format!("d={};", self.domain), true);
        header.word(&format!("s={};", self.selector), true);
        header.word(&format!("t={created_at};"), true);
        for (i, name) in names.iter().enumerate() {
            let last = if i + 1 == names.len() { ";" } else { "" };
            if i == 0 {
                header.word(&format!("h={name}{last}"), true);
            } else {
                header.word(&format!(":{name}{last}"), false);
            }
        }
        header.word(&format!("bh={body_hash};"), true);
        header.word("b=", true);

        // The signed data: the named headers, then this header with an empty b= and no CRLF.
        let mut data = Vec::new();
        let mut used: Vec<(&str, usize)> = Vec::new();
        for name in &names {
            let n = match used.iter_mut().find(|(k, _)| k == name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    used.push((name, 1));
                    1
                }
            };
            // The n-th naming selects the n-th instance from the bottom (RFC 6376 5.4.2).
            let instance = fields
                .iter()
                .rev()
                .filter(|f| field_name(f).eq_ignore_ascii_case(name.as_bytes()))
                .nth(n - 1);
            if let Some(field) = instance {
                data.extend_from_slice(&relaxed_header(field));
            }
        }
        let own = relaxed_header(header.text.as_bytes());
        data.extend_from_slice(own.strip_suffix(b"\r\n").unwrap_or(&own));

        let signature = match &self.key {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &data, &mut sig)
                    .map_err(|_| DkimError("RSA signing failed".into()))?;
                sig
            }
            // RFC 8463 3: Ed25519 signs the SHA-256 hash of the data.
            Key::Ed25519(k) => k.sign(digest(&SHA256, &data).as_ref()).as_ref().to_vec(),
        };
        header.fill(&B64.encode(signature));
        header.text.push_str("\r\n");

        let mut out = header.text.into_bytes();
        out.extend_from_slice(document);
        Ok(out)
    }
}

/// Builds a header, folding before a word that would make a line longer than [`MAX_LINE`].
struct Folder {
    text: String,
    width: usize,
}

impl Folder {
    fn new(start: &str) -> Self {
        Self {
            text: start.to_string(),
            width: start.len(),
        }
    }

    /// Appends `word`, after a space when `spaced` and it fits on the line; folds otherwise.
    fn word(&mut self, word: &str, spaced: bool) {
        let gap = usize::from(spaced);
        if self.width + gap + word.len() > MAX_LINE {
            self.text.push_str("\r\n ");
            self.width = 1;
        } else if spaced {
            self.text.push(' ');
            self.width += 1;
        }
        self.text.push_str(word);
        self.width += word.len();
    }

    /// Appends ASCII `value` (base64), folding wherever a line is full.
    fn fill(&mut self, value: &str) {
        for c in value.chars() {
            if self.width + 1 > MAX_LINE {
                self.text.push_str("\r\n ");
                self.width = 1;
            }
            self.text.push(c);
            self.width += 1;
        }
    }
}

/// The header block (ending in CRLF) split into fields, each with its continuation lines
/// and without its final CRLF.
fn header_fields(block: &[u8]) -> Vec<&[u8]> {
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while let Some(i) = find(&block[pos..], b"\r\n") {
        let end = pos + i;
        let next = end + 2;
        let continues = block.get(next).is_some_and(|&b| b == b' ' || b == b'\t');
        if !continues {
            if end > start {
                fields.push(&block[start..end]);
            }
            start = next;
        }
        pos = next;
    }
    fields
}

/// The name of a header field (the bytes before its colon, whitespace trimmed).
fn field_name(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    field[..end].trim_ascii()
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Relaxed header canonicalisation (RFC 6376 3.4.2) of one field (`Name: value`, with its
/// continuation lines): name in lower case, value unfolded, runs of whitespace made one
/// space, no whitespace around the colon or at the end; then CRLF.
pub fn relaxed_header(field: &[u8]) -> Vec<u8> {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    let name = field[..colon].trim_ascii().to_ascii_lowercase();
    let value = field.get(colon + 1..).unwrap_or_default();
    let mut out = name;
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b if is_wsp(b) => pending_space = true,
            b => {
                if pending_space && started {
                    out.push(b' ');
                }
                pending_space = false;
                started = true;
                out.push(b);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Relaxed body canonicalisation (RFC 6376 3.4.4): whitespace at line ends removed, runs of
/// whitespace within a line made one space, empty lines at the end removed, and a final
/// CRLF added to a non-empty body that lacks one. An empty body stays empty.
pub fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut rest = body;
    loop {
        let (line, more) = match find(rest, b"\r\n") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        if more.is_some() || !line.is_empty() {
            let mut out = Vec::with_capacity(line.len());
            let mut pending_space = false;
            for &b in line {
                if is_wsp(b) {
                    pending_space = true;
                } else {
                    if pending_space {
                        out.push(b' ');
                    }
                    pending_space = false;
                    out.push(b);
                }
            }
            lines.push(out);
        }
        match more {
            Some(m) => rest = m,
            None => break,
        }
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::with_capacity(body.len());
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

enum Algorithm {
    Rsa,
    Ed25519,
}

/// The key's algorithm, from the OID in its PKCS#8 AlgorithmIdentifier.
fn key_algorithm(der: &[u8]) -> Option<Algorithm> {
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    // The AlgorithmIdentifier follows the SEQUENCE header and the version.
    let head = &der[..der.len().min(32)];
    if find(head, RSA).is_some() {
        Some(Algorithm::Rsa)
    } else if find(head, ED25519).is_some() {
        Some(Algorithm::Ed25519)
    } else {
        None
    }
}

/// The DER of the first `PRIVATE KEY` block of a PEM file.
fn pem_private_key(pem: &[u8]) -> Result<Vec<u8>, DkimError> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| DkimError("the file is not a PEM text file".into()))?;
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(DkimError(
            "the key is encrypted; give Nyckel an unencrypted PKCS#8 key (readable only by Nyckel)"
                .into(),
        ));
    }
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return Err(DkimError(
            "the key is PKCS#1 (BEGIN RSA PRIVATE KEY); convert it with `openssl pkcs8 -topk8 -nocrypt`".into(),
        ));
    }
    let body = text
        .split_once("-----BEGIN PRIVATE KEY-----")
        .and_then(|(_, rest)| rest.split_once("-----END PRIVATE KEY-----"))
        .map(|(body, _)| body)
        .ok_or_else(|| DkimError("the file holds no PEM private key (BEGIN PRIVATE KEY)".into()))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(b64)
        .map_err(|_| DkimError("the PEM private key is not valid base64".into()))
}

/// A PKCS#1 RSAPublicKey wrapped in a SubjectPublicKeyInfo (what `openssl pkey -pubout`
/// writes, and what DKIM records carry in practice).
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend_from_slice(&[0x81, len as u8]);
        } else {
            out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }
    let algorithm = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0];
    bits.extend_from_slice(pkcs1);
    let mut content = algorithm.to_vec();
    content.extend_from_slice(&tlv(0x03, &bits));
    tlv(0x30, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed_text(field: &str) -> String {
        String::from_utf8(relaxed_header(field.as_bytes())).expect("utf8")
    }

    fn body_text(body: &str) -> String {
        String::from_utf8(relaxed_body(body.as_bytes())).expect("utf8")
    }

    #[test]
    fn the_rfc_example_canonicalises() {
        // RFC 6376 3.4.5.
        assert_eq!(relaxed_text("A: X"), "a:X\r\n");
        assert_eq!(relaxed_text("B : Y\t\r\n\tZ  "), "b:Y Z\r\n");
        assert_eq!(body_text(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
    }

    #[test]
    fn relaxed_headers() {
        assert_eq!(relaxed_text("SUBJECT: Hello"), "subject:Hello\r\n");
        assert_eq!(relaxed_text("Message-ID:<a@b>"), "message-id:<a@b>\r\n");
        assert_eq!(
            relaxed_text("Subject: \t one  two\t\tthree \t"),
            "subject:one two three\r\n"
        );
        assert_eq!(
            relaxed_text("To: a@example.org,\r\n  b@example.org"),
            "to:a@example.org, b@example.org\r\n"
        );
        // Folding without whitespace before the break still leaves the continuation's space.
        assert_eq!(relaxed_text("H: a\r\n\tb"), "h:a b\r\n");
        assert_eq!(relaxed_text("Empty:"), "empty:\r\n");
        assert_eq!(relaxed_text("Empty:  \t "), "empty:\r\n");
    }

    #[test]
    fn relaxed_bodies() {
        assert_eq!(body_text(""), "");
        assert_eq!(body_text("\r\n"), "");
        assert_eq!(
            body_text("\r\n\r\n \t \r\n"),
            "",
            "whitespace-only lines are empty"
        );
        assert_eq!(body_text("abc"), "abc\r\n", "a final CRLF is added");
        assert_eq!(body_text("abc  \t\r\n"), "abc\r\n");
        assert_eq!(
            body_text("a\r\n\r\nb\r\n\r\n"),
            "a\r\n\r\nb\r\n",
            "inner empty lines stay"
        );
        assert_eq!(
            body_text("\t lead\r\n"),
            " lead\r\n",
            "leading whitespace becomes one space"
        );
        assert_eq!(body_text("x \t y"), "x y\r\n");
        assert_eq!(body_text("end\r\n \r\n\t\r\n"), "end\r\n");
    }

    #[test]
    fn header_fields_keep_continuations() {
        let block = b"A: 1\r\nB: 2\r\n 3\r\nC:4\r\n";
        let fields = header_fields(block);
        assert_eq!(fields, vec![&b"A: 1"[..], b"B: 2\r\n 3", b"C:4"]);
        assert_eq!(field_name(b"Subject : x"), b"Subject");
    }

    fn ed25519_signer() -> Signer {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            B64.encode(pkcs8.as_ref())
        );
        Signer::from_pem("example.org", "mail2025", pem.as_bytes()).expect("signer")
    }

    #[test]
    fn an_ed25519_signature_verifies_and_the_header_is_folded() {
        use ring::signature::{ED25519, UnparsedPublicKey};
        let signer = ed25519_signer();
        assert_eq!(signer.algorithm(), "ed25519-sha256");
        assert_eq!(signer.dns_name(), "mail2025._domainkey.example.org");
        assert!(signer.dns_record().starts_with("v=DKIM1; k=ed25519; p="));
        assert!(!format!("{signer:?}").contains("PRIVATE"));
        assert!(format!("{signer:?}").contains("[redacted]"));

        let doc = b"From: a@example.org\r\nSubject: Hi\r\nX-Other: 1\r\n\r\nBody  \r\n\r\n";
        let signed = signer.sign(doc, 1_751_364_000).expect("signed");
        let signed = String::from_utf8(signed).expect("utf8");
        let (header, rest) = signed.split_once("\r\nFrom:").expect("header in front");
        assert_eq!(rest.as_bytes(), &doc[5..]);
        for line in header.split("\r\n") {
            assert!(line.len() <= MAX_LINE, "{line}");
        }
        let unfolded = header.replace("\r\n ", "");
        assert!(unfolded.contains("t=1751364000;"));
        assert!(
            unfolded.contains("h=From:From:Subject:Subject;"),
            "{unfolded}"
        );
        assert!(!unfolded.contains("X-Other"));
        let body_hash = B64.encode(digest(&SHA256, b"Body\r\n"));
        assert!(unfolded.contains(&format!("bh={body_hash};")));

        // Check it the way a verifier does.
        let (without_b, b) = header.rsplit_once("b=").expect("b=");
        let sig = B64
            .decode(b.replace("\r\n ", ""))
            .expect("base64 signature");
        let mut data = b"from:a@example.org\r\nsubject:Hi\r\n".to_vec();
        let own = relaxed_header(format!("{without_b}b=").as_bytes());
        data.extend_from_slice(&own[..own.len() - 2]);
        let public = match &signer.key {
            Key::Ed25519(k) => k.public_key().as_ref().to_vec(),
            Key::Rsa(_) => unreachable!(),
        };
        UnparsedPublicKey::new(&ED25519, public)
            .verify(digest(&SHA256, &data).as_ref(), &sig)
            .expect("signature verifies");
    }

    #[test]
    fn unusable_keys_are_refused_without_echoing_them() {
        let bad = |pem: &str| {
            Signer::from_pem("example.org", "s", pem.as_bytes())
                .expect_err("refused")
                .to_string()
        };
        assert!(bad("nothing here").contains("no PEM private key"));
        assert!(
            bad("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----")
                .contains("PKCS#1")
        );
        assert!(
            bad("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----")
                .contains("encrypted")
        );
        let err = bad("-----BEGIN PRIVATE KEY-----\nQUJDREVGR0g=\n-----END PRIVATE KEY-----");
        assert!(err.contains("neither RSA nor Ed25519"), "{err}");
        assert!(!err.contains("QUJD"));
    }

    #[test]
    fn a_document_without_a_body_separator_is_not_signed() {
        assert!(ed25519_signer().sign(b"From: a@b\r\n", 0).is_err());
    }

    #[test]
    fn spki_lengths_are_encoded() {
        let spki = rsa_spki(&[0u8; 270]);
        assert_eq!(&spki[..4], &[0x30, 0x82, 0x01, 0x22]);
        assert_eq!(spki.len(), 4 + 15 + 4 + 1 + 270);
    }
}
