//! The shape every message has: a greeting, a few paragraphs, at most one action (a link),
//! notes and a footer. Rendered twice from `templates/mail/letter.{txt,html}` (the HTML
//! escapes every value); the words come from the catalog (see `mail::compose`).

use askama::Template;

use crate::error::Result;
use crate::mail::message::Message;

/// A link the person is asked to follow.
#[derive(Debug, Clone)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// A message before rendering. Not `Debug`: the action may hold a secret link.
#[derive(Clone)]
pub struct Letter {
    /// `<html lang>`.
    pub lang: &'static str,
    pub product: &'static str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    pub notes: Vec<String>,
    pub footer: String,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct TextBody<'a> {
    l: &'a Letter,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct HtmlBody<'a> {
    l: &'a Letter,
}

impl Letter {
    /// Renders both bodies into a checked message to `to`.
    pub fn to_message(&self, to: &str) -> Result<Message> {
        let text = TextBody { l: self }.render()?;
        let html = HtmlBody { l: self }.render()?;
        Ok(Message::new(to, &self.subject, text, html)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            lang: "sv",
            product: "Nyckel",
            subject: "Ämne".into(),
            greeting: "Hej <Anna>,".into(),
            paragraphs: vec!["Första stycket.".into(), "Andra & sista.".into()],
            action: Some(Action {
                label: "Välj lösenord".into(),
                url: "https://id.example.org/reset/abc".into(),
            }),
            notes: vec!["En anteckning.".into()],
            footer: "Sidfot".into(),
        }
    }

    #[test]
    fn text_body_reads_as_plain_text() {
        let m = letter().to_message("anna@example.org").expect("renders");
        assert_eq!(
            m.text,
            "Hej <Anna>,\n\nFörsta stycket.\n\nAndra & sista.\n\nVälj lösenord:\nhttps://id.example.org/reset/abc\n\nEn anteckning.\n\n-- \nSidfot"
        );
    }

    #[test]
    fn html_body_escapes_values() {
        let m = letter().to_message("anna@example.org").expect("renders");
        assert!(m.html.contains("Hej &#60;Anna&#62;,") || m.html.contains("Hej &lt;Anna&gt;,"));
        assert!(!m.html.contains("<Anna>"));
        assert!(m.html.contains("href=\"https://id.example.org/reset/abc\""));
        assert!(m.html.contains("<html lang=\"sv\">"));
    }
}
