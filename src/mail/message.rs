//! A message as queued: recipient, subject, plain-text and HTML bodies. Header-bound values
//! are checked when the message is made (and again when it is written out): a line break or
//! other control character in a header value is refused, never folded into a new header
//! (SECURITY.md P7, ASVS 1.3.11).

use serde::{Deserialize, Serialize};

/// The longest subject accepted, in characters.
pub const MAX_SUBJECT: usize = 200;

/// Why a message could not be made, queued or read back.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the {0} header value contains a line break or another control character")]
    HeaderBreak(&'static str),
    #[error("the recipient is not a single plain email address")]
    BadRecipient,
    #[error("the subject is longer than {MAX_SUBJECT} characters")]
    SubjectTooLong,
    #[error("mail.from is not an address such as \"Nyckel <id@example.org>\"")]
    BadFrom,
    #[error("a queued message could not be read back: {0}")]
    Payload(String),
    #[error("mail relay: {0}")]
    Relay(String),
    #[error("DKIM: {0}")]
    Dkim(#[from] crate::mail::dkim::DkimError),
}

/// One message. Its `Debug` leaves out the bodies (they may hold a link).
#[derive(Clone, Serialize, Deserialize)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

crate::redact::debug_showing!(Message { to, subject });

impl Message {
    /// A checked message.
    pub fn new(to: &str, subject: &str, text: String, html: String) -> Result<Self, MailError> {
        let m = Self {
            to: to.trim().to_string(),
            subject: subject.to_string(),
            text,
            html,
        };
        m.check()?;
        Ok(m)
    }

    /// Checks the header-bound values.
    pub fn check(&self) -> Result<(), MailError> {
        check_header_value("To", &self.to)?;
        check_header_value("Subject", &self.subject)?;
        if !plain_address(&self.to) {
            return Err(MailError::BadRecipient);
        }
        if self.subject.chars().count() > MAX_SUBJECT {
            return Err(MailError::SubjectTooLong);
        }
        Ok(())
    }
}

/// Refuses CR, LF and every other control character in a header value.
pub fn check_header_value(name: &'static str, value: &str) -> Result<(), MailError> {
    if value.chars().any(char::is_control) {
        return Err(MailError::HeaderBreak(name));
    }
    Ok(())
}

/// A recipient: an email address as accounts have them (see `admin::users::valid_email`)
/// that is also a [`bare_address`].
pub fn plain_address(addr: &str) -> bool {
    crate::admin::users::valid_email(addr) && bare_address(addr)
}

/// A bare ASCII `local@domain` (the domain may be `localhost`) with nothing a header
/// parser could read as a second address, a display name or a comment.
pub fn bare_address(addr: &str) -> bool {
    let Some((local, domain)) = addr.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && addr.is_ascii()
        && !addr
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        && !addr.contains([',', ';', '"', '(', ')', '[', ']', '\\', ':', '<', '>'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_is_refused() {
        let ok = Message::new("anna@example.org", "Hej", String::new(), String::new());
        assert!(ok.is_ok());
        for (to, subject) in [
            ("anna@example.org\r\nBcc: x@evil.test", "Hej"),
            ("anna@example.org", "Hej\r\nBcc: x@evil.test"),
            ("anna@example.org", "Hej\nBcc: x@evil.test"),
            ("anna@example.org", "Hej\u{0}"),
            ("anna@example.org, x@evil.test", "Hej"),
            ("Anna <anna@example.org>", "Hej"),
        ] {
            assert!(
                Message::new(to, subject, String::new(), String::new()).is_err(),
                "{to:?} / {subject:?} accepted"
            );
        }
    }

    #[test]
    fn debug_leaves_out_the_bodies() {
        let m = Message::new(
            "anna@example.org",
            "Hej",
            "secret-link".into(),
            "secret-link".into(),
        )
        .expect("message");
        assert!(!format!("{m:?}").contains("secret-link"));
    }
}
