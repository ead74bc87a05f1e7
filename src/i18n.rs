//! The translation catalog: every user-facing text, in English and Swedish, from
//! `locales/<lang>.toml` (embedded at build time). Pages ask a [`Texts`] for a key; a key
//! missing from a language falls back to English, and a unit test keeps both files in step.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Sv,
}

impl Locale {
    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Sv => "sv",
        }
    }

    /// Matches a language tag such as `sv`, `sv-SE` or `en-GB`.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "sv" => Some(Locale::Sv),
            _ => None,
        }
    }

    /// Picks a language: the first supported one in `ui_locales` (space-separated, OIDC),
    /// else the best in `Accept-Language`, else English.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(found) = ui_locales
            .into_iter()
            .flat_map(str::split_whitespace)
            .find_map(Locale::from_tag)
        {
            return found;
        }
        let mut best: Option<(f32, Locale)> = None;
        for item in accept_language.unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let Some(locale) = parts.next().and_then(Locale::from_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

type Catalog = HashMap<String, String>;

fn parse(text: &str) -> Catalog {
    let table: toml::Table = text.parse().unwrap_or_default();
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn catalogs() -> &'static (Catalog, Catalog) {
    static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        (
            parse(include_str!("../locales/en.toml")),
            parse(include_str!("../locales/sv.toml")),
        )
    })
}

/// The texts of one language, handed to templates.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub locale: Locale,
}

impl Texts {
    /// Texts in `locale`.
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The text for `key`; English when the language lacks it, the key itself when both do.
    pub fn t<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        let (en, sv) = catalogs();
        let primary = match self.locale {
            Locale::En => en,
            Locale::Sv => sv,
        };
        primary
            .get(key)
            .or_else(|| en.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The language tag, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let (en, sv) = catalogs();
        let mut missing: Vec<_> = en.keys().filter(|k| !sv.contains_key(*k)).collect();
        missing.extend(sv.keys().filter(|k| !en.contains_key(*k)));
        assert!(missing.is_empty(), "keys not in both catalogs: {missing:?}");
        assert!(!en.is_empty());
    }

    #[test]
    fn negotiation_prefers_ui_locales_then_accept_language() {
        assert_eq!(Locale::negotiate(Some("de sv-SE"), Some("en")), Locale::Sv);
        assert_eq!(
            Locale::negotiate(None, Some("de, sv;q=0.8, en;q=0.5")),
            Locale::Sv
        );
        assert_eq!(Locale::negotiate(None, Some("fr")), Locale::En);
        assert_eq!(Locale::negotiate(None, None), Locale::En);
    }
}
