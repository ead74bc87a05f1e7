//! Writes a [`Message`] as an RFC 5322 / MIME document: `multipart/alternative` with a
//! plain-text and an HTML part (UTF-8, quoted-printable), an RFC 2047 encoded-word `Subject`
//! when it is not plain ASCII, `Date`, `Message-ID` and `From` from `mail.from`. Lines end in
//! CRLF and stay within 78 characters (bodies within 76). Every header value is checked for
//! control characters again here, whatever the caller did.

use crate::clock::UnixTime;
use crate::mail::message::{MailError, Message, bare_address, check_header_value};

/// The sender (`mail.from`) split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: String,
}

impl Sender {
    /// Parses `Name <addr@domain>` or `addr@domain`.
    pub fn parse(from: &str) -> Result<Self, MailError> {
        check_header_value("From", from)?;
        let from = from.trim();
        let (name, address) = match from.strip_suffix('>').and_then(|s| s.rsplit_once('<')) {
            Some((name, addr)) => {
                let name = name.trim().trim_matches('"').trim();
                ((!name.is_empty()).then(|| name.to_string()), addr.trim())
            }
            None => (None, from),
        };
        if !bare_address(address) {
            return Err(MailError::BadFrom);
        }
        Ok(Self {
            name,
            address: address.to_string(),
        })
    }

    /// The domain of the address (for `Message-ID`).
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
    }

    /// The header's words: encoded words or a quoted string for the name, then `<address>`.
    fn header_words(&self) -> Vec<String> {
        let mut words = match &self.name {
            None => Vec::new(),
            Some(name) if name.is_ascii() && name.len() <= 60 => {
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                vec![format!("\"{quoted}\"")]
            }
            Some(name) => encoded_words(name),
        };
        words.push(format!("<{}>", self.address));
        words
    }
}

/// The whole document for message `id` (made at `created_at`), from `from`.
pub fn render(
    msg: &Message,
    from: &Sender,
    id: &str,
    created_at: UnixTime,
) -> Result<Vec<u8>, MailError> {
    msg.check()?;
    check_header_value("Message-ID", id)?;
    let boundary = format!(
        "=_nyckel_{}",
        id.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let one = |v: &str| vec![v.to_string()];
    let mut out = String::new();
    out.push_str(&fold("Date", &one(&rfc5322_date(created_at))));
    out.push_str(&fold("From", &from.header_words()));
    out.push_str(&fold("To", &one(&msg.to)));
    out.push_str(&fold("Subject", &subject_words(&msg.subject)));
    out.push_str(&fold(
        "Message-ID",
        &one(&format!("<{id}@{}>", from.domain())),
    ));
    out.push_str(&fold("MIME-Version", &one("1.0")));
    out.push_str(&fold("Auto-Submitted", &one("auto-generated")));
    out.push_str(&fold(
        "Content-Type",
        &[
            "multipart/alternative;".to_string(),
            format!("boundary=\"{boundary}\""),
        ],
    ));
    out.push_str("\r\n");
    for (kind, body) in [("plain", &msg.text), ("html", &msg.html)] {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str(&format!("Content-Type: text/{kind}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        out.push_str(&quoted_printable(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    Ok(out.into_bytes())
}

/// One header: `Name:` then `words` separated by spaces, folded onto continuation lines so
/// no line passes 78 characters (RFC 5322 2.1.1, 2.2.3).
fn fold(name: &str, words: &[String]) -> String {
    let mut out = format!("{name}:");
    let mut width = out.len();
    for (i, w) in words.iter().enumerate() {
        if i > 0 && width + 1 + w.len() > 78 {
            out.push_str("\r\n");
            width = 0;
        }
        out.push(' ');
        out.push_str(w);
        width += 1 + w.len();
    }
    out.push_str("\r\n");
    out
}

/// The subject's words: as they are when it is printable ASCII in short words, else
/// RFC 2047 encoded words.
fn subject_words(subject: &str) -> Vec<String> {
    let plain = subject.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !subject.contains("=?")
        && subject.split(' ').all(|w| w.len() <= 60);
    if plain {
        subject.split(' ').map(str::to_string).collect()
    } else {
        encoded_words(subject)
    }
}

/// `=?UTF-8?B?...?=` words of at most 68 characters (so `Subject: ` and one word fit in
/// 78), never splitting a character.
fn encoded_words(text: &str) -> Vec<String> {
    use base64::Engine;
    const MAX_BYTES: usize = 42; // 56 base64 characters + 12 of framing
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > MAX_BYTES {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(chunk);
    }
    words
        .into_iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect()
}

/// Quoted-printable (RFC 2045 6.7) with CRLF line ends and soft breaks before 76 characters.
pub fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len() + normalized.len() / 8);
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut width = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal =
                ((b == b' ' || b == b'\t') && !last) || ((33..=126).contains(&b) && b != b'=');
            let piece = if literal {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            // Keep room for the soft break's "=" (76 characters in all).
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            out.push_str(&piece);
            width += piece.len();
        }
    }
    out
}

/// `Tue, 01 Jul 2025 10:00:00 +0000`.
pub fn rfc5322_date(t: UnixTime) -> String {
    crate::clock::instant(t)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_827_696), "Tue, 29 Feb 2000 12:34:56 +0000");
        assert_eq!(
            rfc5322_date(1_751_364_000),
            "Tue, 01 Jul 2025 10:00:00 +0000"
        );
    }

    #[test]
    fn from_is_parsed_and_encoded() {
        let f = Sender::parse("Nyckel <id@example.org>").expect("from");
        assert_eq!(
            fold("From", &f.header_words()),
            "From: \"Nyckel\" <id@example.org>\r\n"
        );
        assert_eq!(f.domain(), "example.org");
        let f = Sender::parse("Föreningen Nyckel <id@example.org>").expect("from");
        assert!(f.header_words()[0].starts_with("=?UTF-8?B?"));
        assert!(
            Sender::parse("id@example.org")
                .expect("bare")
                .name
                .is_none()
        );
        assert!(Sender::parse("Nyckel <nyckel@localhost>").is_ok());
        assert!(Sender::parse("Evil <a@b.org>\r\nBcc: x@y.org").is_err());
        assert!(Sender::parse("no address").is_err());
    }

    #[test]
    fn subjects_are_encoded_and_folded_within_78_characters() {
        assert_eq!(
            fold("Subject", &subject_words("Hello  there")),
            "Subject: Hello  there\r\n"
        );
        let long = "Välkommen till Göteborgs Roddklubb och Kanotsällskap, här är din länk";
        let folded = fold("Subject", &subject_words(long));
        for line in folded.trim_end().split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        use base64::Engine;
        let decoded: String = folded
            .trim_start_matches("Subject:")
            .split_whitespace()
            .map(|w| {
                let b64 = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                String::from_utf8(bytes).expect("whole characters per word")
            })
            .collect();
        assert_eq!(decoded, long);
        let ascii =
            "A plain subject that is long enough to need folding onto a second line, surely";
        let folded = fold("Subject", &subject_words(ascii));
        assert!(folded.contains("\r\n "));
        assert_eq!(
            folded.replace("\r\n ", " ").trim_end(),
            format!("Subject: {ascii}")
        );
    }

    #[test]
    fn quoted_printable_escapes_and_wraps() {
        assert_eq!(quoted_printable("a=b"), "a=3Db");
        assert_eq!(quoted_printable("å"), "=C3=A5");
        assert_eq!(quoted_printable("trailing \nx"), "trailing=20\r\nx");
        let long = "x".repeat(200);
        for line in quoted_printable(&long).split("\r\n") {
            assert!(line.len() <= 76);
        }
    }

    #[test]
    fn rendering_refuses_injected_headers() {
        let from = Sender::parse("Nyckel <id@example.org>").expect("from");
        let mut m = Message::new("anna@example.org", "Hej", "t".into(), "<p>h</p>".into())
            .expect("message");
        assert!(render(&m, &from, "abc", 0).is_ok());
        m.subject = "Hej\r\nBcc: x@evil.test".into();
        assert!(render(&m, &from, "abc", 0).is_err());
    }
}
