//! What each SMS says: a fixed text from the catalog with the code filled in, never any text
//! a person typed (no names: SMS from our sender id must not carry someone else's words). The
//! last line is the origin-bound form (`@host #code`) that browsers use to offer the code
//! for the right site only (WebOTP).

use crate::auth::keys::secret::spaced;
use crate::error::Result;
use crate::i18n::{Locale, Texts};
use crate::mail::compose::{duration, fill};
use crate::sms::SmsMessage;
use crate::state::AppState;
use crate::store::users::User;

/// The issuer's host (with its port, if any), for the origin-bound line and notices.
pub fn host(state: &AppState) -> String {
    url::Url::parse(&state.issuer)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_default()
}

fn with_code(t: Texts, state: &AppState, key: &str, code: &str, ttl: i64) -> String {
    format!(
        "{}\n\n@{} #{code}",
        fill(
            t.t(key),
            &[("code", &spaced(code)), ("duration", &duration(t, ttl))]
        ),
        host(state)
    )
}

/// A login code.
pub fn login_code(t: Texts, state: &AppState, code: &str, ttl: i64) -> String {
    with_code(t, state, "sms.login_code", code, ttl)
}

/// A recovery code.
pub fn reset_code(t: Texts, state: &AppState, code: &str, ttl: i64) -> String {
    with_code(t, state, "sms.reset_code", code, ttl)
}

/// A code confirming this number for an account.
pub fn verify_code(t: Texts, state: &AppState, code: &str, ttl: i64) -> String {
    with_code(t, state, "sms.verify_code", code, ttl)
}

/// The person's language for an SMS.
pub fn locale(user: &User) -> Locale {
    user.locale
        .as_deref()
        .and_then(Locale::from_tag)
        .unwrap_or(Locale::Sv)
}

/// Tells the person by SMS that their password was reset (queued like any SMS).
pub async fn send_password_changed(state: &AppState, user: &User, phone: &str) -> Result<()> {
    let t = Texts::new(locale(user));
    let body = fill(t.t("sms.password_changed"), &[("host", &host(state))]);
    let id = crate::crypto::random_id();
    crate::sms::enqueue(state, &id, &SmsMessage::new(phone, body)?).await
}
