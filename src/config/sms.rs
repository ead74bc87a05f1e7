//! `[sms]`: the SMS gateway (files for the development setup, Twilio, 46elks or a generic
//! HTTP webhook) and the send limits against SMS pumping (SECURITY.md P6).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[sms]`. Its `Debug` leaves out the gateway secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `files` (development: written to `outbox_dir`), `twilio`, `46elks` or `webhook`.
    pub gateway: String,
    /// The sender: an alphanumeric sender id (at most 11 characters) or a number in E.164.
    pub from: String,
    /// Where the `files` gateway writes messages; defaults to `<data_dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
    /// The gateway's API base URL (defaults: `https://api.twilio.com`,
    /// `https://api.46elks.com`); required for `webhook`.
    pub api_url: Option<String>,
    /// Twilio Account SID, or 46elks API username.
    pub account: Option<String>,
    /// A secret: Twilio auth token, 46elks API password, or the webhook's bearer token. Use
    /// `NYCKEL_SMS__TOKEN_FILE`.
    pub token: Option<String>,
    /// Seconds for one request to the gateway.
    pub timeout: u64,
    /// The country calling code for numbers typed without one (`070...` -> `+4670...`).
    /// Written as a string or a number (`"46"` or `46`).
    #[serde(deserialize_with = "code")]
    pub default_country: String,
    /// Country calling codes numbers may have (`["46"]`: Sweden only); strings or numbers.
    #[serde(deserialize_with = "codes")]
    pub allowed_countries: Vec<String>,
    /// Seconds between two messages of one budget to one number (`sms::limits`: anonymous
    /// requests, codes to a person's own number, confirmations of a new number).
    pub cooldown: i64,
    /// Messages to one number per 24 hours that strangers can ask for (login and recovery
    /// codes), and confirmations of one new number.
    pub per_number_daily: i64,
    /// Anonymous requests (login and recovery codes) from one IP address per 24 hours.
    pub per_ip_daily: i64,
    /// Messages one person who proved a factor may cause per 24 hours, per budget: codes to
    /// their own number (second factor, two-factor recovery), and confirmations of new
    /// numbers. Never spent by anonymous requests.
    pub per_person_daily: i64,
    /// Percent of `global_daily`, `per_country_daily` and `per_org_daily` that only messages
    /// for people who proved a factor may use: anonymous requests stop at the rest, so a
    /// flood of them leaves room for second factors.
    pub reserved_percent: i64,
    /// Messages for one organisation per 24 hours.
    pub per_org_daily: i64,
    /// Messages to one country calling code per 24 hours.
    pub per_country_daily: i64,
    /// Messages in all per 24 hours; reaching it stops sending and raises an alert.
    pub global_daily: i64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            gateway: "files".into(),
            from: "Nyckel".into(),
            outbox_dir: None,
            api_url: None,
            account: None,
            token: None,
            timeout: 10,
            default_country: "46".into(),
            allowed_countries: vec!["46".into()],
            cooldown: 60,
            per_number_daily: 5,
            per_ip_daily: 20,
            per_person_daily: 10,
            reserved_percent: 20,
            per_org_daily: 500,
            per_country_daily: 1000,
            global_daily: 2000,
        }
    }
}

crate::redact::debug_showing!(SmsConfig {
    gateway, from, outbox_dir, api_url, account, timeout, default_country, allowed_countries,
    cooldown, per_number_daily, per_ip_daily, per_person_daily, reserved_percent, per_org_daily,
    per_country_daily, global_daily,
} redacted { token });

/// A country calling code written as a string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Code {
    Text(String),
    Number(u16),
}

impl Code {
    fn into_string(self) -> String {
        match self {
            Code::Text(s) => s.trim().trim_start_matches('+').to_string(),
            Code::Number(n) => n.to_string(),
        }
    }
}

fn code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Code::deserialize(d)?.into_string())
}

fn codes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<Code>::deserialize(d)?
        .into_iter()
        .map(Code::into_string)
        .collect())
}

/// Whether `code` is a country calling code: 1-3 digits, not starting with 0.
fn calling_code(code: &str) -> bool {
    (1..=3).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && !code.starts_with('0')
}

impl SmsConfig {
    /// Checks the keys; messages name the key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        let needs_account = match self.gateway.as_str() {
            "files" => false,
            "twilio" | "46elks" => true,
            "webhook" => {
                if self.api_url.is_none() {
                    return bad("sms.gateway = \"webhook\" needs sms.api_url");
                }
                false
            }
            _ => {
                return bad("sms.gateway must be \"files\", \"twilio\", \"46elks\" or \"webhook\"");
            }
        };
        if needs_account && (self.account.is_none() || self.token.is_none()) {
            return bad("sms.gateway = \"twilio\" or \"46elks\" needs sms.account and sms.token");
        }
        if let Some(url) = &self.api_url {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" => {}
                Ok(u) if u.scheme() == "http" && super::is_loopback(u.host_str().unwrap_or("")) => {
                }
                _ => return bad("sms.api_url must be an https:// URL (http:// only on loopback)"),
            }
        }
        let from = self.from.trim();
        let sender_id = !from.is_empty()
            && from.len() <= 11
            && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
            && from.bytes().any(|b| b.is_ascii_alphabetic());
        let number = from
            .strip_prefix('+')
            .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
        if !sender_id && !number {
            return bad(
                "sms.from must be a sender id (letters and digits, at most 11) or a number such as +46701234567",
            );
        }
        if self.timeout == 0 || self.timeout > 120 {
            return bad("sms.timeout must be between 1 and 120 seconds");
        }
        if !calling_code(&self.default_country) {
            return bad("sms.default_country must be a country calling code such as \"46\"");
        }
        if let Some(c) = self.allowed_countries.iter().find(|c| !calling_code(c)) {
            return bad(&format!(
                "sms.allowed_countries: {c:?} is not a country calling code such as \"46\""
            ));
        }
        if self.cooldown < 0 {
            return bad("sms.cooldown must not be negative");
        }
        for (name, v) in [
            ("per_number_daily", self.per_number_daily),
            ("per_ip_daily", self.per_ip_daily),
            ("per_person_daily", self.per_person_daily),
            ("per_org_daily", self.per_org_daily),
            ("per_country_daily", self.per_country_daily),
            ("global_daily", self.global_daily),
        ] {
            if v < 1 {
                return bad(&format!("sms.{name} must be at least 1"));
            }
        }
        if !(0..=90).contains(&self.reserved_percent) {
            return bad("sms.reserved_percent must be between 0 and 90");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_read_as_strings_or_numbers() {
        let c: SmsConfig =
            toml::from_str("default_country = 47\nallowed_countries = [46, \"+47\", \"358\"]")
                .expect("parses");
        assert_eq!(c.default_country, "47");
        assert_eq!(c.allowed_countries, vec!["46", "47", "358"]);
        assert!(c.validate().is_ok());
        let bad: SmsConfig = toml::from_str("allowed_countries = [\"0\"]").expect("parses");
        assert!(bad.validate().is_err());
    }
}
