//! Telling a person that a message with a code was not sent, why, and when to try again
//! (`sms::limits::Refused`), in the catalog's words. Only for pages behind a proven factor
//! (the second step of a login, the account's email and phone pages, the reset form): the
//! person proved who they are and typed (or owns) the destination, so the answer tells no
//! stranger whether a number or address has an account. The anonymous pages (`/login/key`,
//! `/forgot`) never use this: they answer the same whatever happened (SECURITY.md P4).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::i18n::Texts;
use crate::mail::compose::fill;
use crate::sms::limits::{Refusal, Refused};

/// The sentence for a refusal, with when to try again when waiting helps.
pub fn explain(t: Texts, refused: &Refused) -> String {
    let reason = match refused.reason {
        Refusal::Cooldown => "send_limits.cooldown",
        Refusal::RecipientDaily | Refusal::IpDaily | Refusal::PersonDaily => "send_limits.daily",
        Refusal::OrganisationDaily | Refusal::CountryDaily | Refusal::GlobalDaily => {
            "send_limits.service"
        }
        Refusal::CountryNotAllowed => "send_limits.country",
        Refusal::Earlier => "send_limits.other",
    };
    let mut text = t.t(reason).to_string();
    if let Some(seconds) = refused.retry_after {
        text.push(' ');
        text.push_str(&fill(
            t.t("send_limits.retry"),
            &[("wait", &wait(t, seconds))],
        ));
    }
    text
}

/// A wait read naturally: seconds under a minute, then minutes, then hours (rounded up).
pub fn wait(t: Texts, seconds: i64) -> String {
    let seconds = seconds.max(1);
    let (n, one, many) = if seconds < 60 {
        (seconds, "send_limits.second", "send_limits.seconds")
    } else if seconds < 3600 {
        (
            (seconds + 59) / 60,
            "send_limits.minute",
            "send_limits.minutes",
        )
    } else {
        (
            (seconds + 3599) / 3600,
            "send_limits.hour",
            "send_limits.hours",
        )
    };
    if n == 1 {
        t.t(one).to_string()
    } else {
        fill(t.t(many), &[("n", &n.to_string())])
    }
}

/// `429 Too Many Requests`, with `Retry-After` when waiting helps: a refused page's status
/// (a page that failed to render keeps its 500).
pub fn with_status(mut res: Response, refused: &Refused) -> Response {
    if res.status().is_server_error() {
        return res;
    }
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Some(seconds) = refused.retry_after
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn waits_read_naturally_in_both_languages() {
        let en = Texts::new(Locale::En);
        let sv = Texts::new(Locale::Sv);
        assert_eq!(wait(en, 1), "1 second");
        assert_eq!(wait(en, 45), "45 seconds");
        assert_eq!(wait(sv, 45), "45 sekunder");
        assert_eq!(wait(en, 61), "2 minutes");
        assert_eq!(wait(sv, 60), "1 minut");
        assert_eq!(wait(en, 86399), "24 hours");
        assert_eq!(wait(sv, 3601), "2 timmar");
    }

    #[test]
    fn a_cooldown_says_when_to_try_again() {
        let en = Texts::new(Locale::En);
        let text = explain(
            en,
            &Refused {
                reason: Refusal::Cooldown,
                retry_after: Some(30),
            },
        );
        assert!(text.contains("a moment ago"), "{text}");
        assert!(text.contains("30 seconds"), "{text}");
        let never = explain(
            en,
            &Refused {
                reason: Refusal::CountryNotAllowed,
                retry_after: None,
            },
        );
        assert!(!never.contains("new one in"), "{never}");
    }
}
