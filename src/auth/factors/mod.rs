//! Two-factor login and step-up: who must use a second factor ([`requirement`]), which
//! second factors a person has ([`available`]), and the RFC 8176 methods a finished login
//! reports ([`combined_amr`]). The login step itself (first factor passed, second awaited) is
//! [`step`]; the SMS code as a second factor and enrolling a phone for it are [`sms`]; a
//! passkey as the second factor and adding a first one in the step are [`passkey`];
//! changing the settings and the operator's recovery are [`settings`]. No axum types.
//!
//! The rules (docs/two-factor.md):
//! - A second factor is required when the person chose it, when any organisation they belong
//!   to requires it, and always when they administer an organisation or the installation
//!   (`login.admins_require_two_factors`, default on).
//! - The second factor must differ from the first: after an SMS-code login, SMS does not
//!   count again. An email login link is only ever a first factor (SECURITY.md P8, §8).
//! - A passkey login (`hwk`) is two factors on its own (user verification).

pub mod passkey;
pub mod settings;
pub mod sms;
pub mod step;

use crate::auth::keys::AMR_SMS;
use crate::auth::passkeys::AMR_PASSKEY;
use crate::auth::session::{Session, acr};
use crate::config::Config;
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, Db};

/// The RFC 8176 `amr` value added to a login of two factors.
pub const AMR_MFA: &str = "mfa";

/// The organisation role whose holders always use two factors.
pub const ADMIN_ROLE: &str = "admin";

/// Why a second factor is required of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The person chose it for themselves.
    Own,
    /// An organisation they belong to requires it (its name).
    Organisation(String),
    /// They administer this organisation (its name).
    Admin(String),
    /// They administer the installation.
    Superadmin,
    /// The app asked for a two-factor login (`acr_values`).
    Requested,
}

/// The reasons a second factor is required (none: it is not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    pub reasons: Vec<Reason>,
}

impl Requirement {
    /// Whether any rule requires a second factor.
    pub fn required(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Which rules require a second factor of `user_id`.
pub async fn requirement(db: &Db, config: &Config, user_id: &str) -> Result<Requirement> {
    let mut reasons = Vec::new();
    if store::factors::user_requires(db, user_id).await? {
        reasons.push(Reason::Own);
    }
    let admins = config.login.admins_require_two_factors;
    if admins
        && store::users::find(db, user_id)
            .await?
            .is_some_and(|u| u.superadmin != 0)
    {
        reasons.push(Reason::Superadmin);
    }
    for m in store::factors::memberships(db, user_id).await? {
        if admins && m.roles.iter().any(|r| r == ADMIN_ROLE) {
            reasons.push(Reason::Admin(m.name));
        } else if m.requires_two_factors {
            reasons.push(Reason::Organisation(m.name));
        }
    }
    Ok(reasons
        .into_iter()
        .fold(Requirement::default(), |mut r, x| {
            if !r.reasons.contains(&x) {
                r.reasons.push(x);
            }
            r
        }))
}

/// The second factors a person can use after a first factor of `first_amr`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Available {
    /// An SMS code to this verified number (E.164), when SMS counts and was not the first
    /// factor.
    pub sms: Option<String>,
    /// A passkey of the person (`hwk`), unless the first factor was one.
    pub passkey: bool,
}

impl Available {
    /// Whether the person has any second factor to use.
    pub fn any(&self) -> bool {
        self.sms.is_some() || self.passkey
    }
}

/// Which second factors `user_id` has, after a first factor of `first_amr`. The second
/// factor must differ from the first. Passkeys count only where they are on
/// (`AppState::passkeys_on`).
pub async fn available(state: &AppState, user_id: &str, first_amr: &[String]) -> Result<Available> {
    let (db, config) = (&state.db, &state.config);
    let Some(user) = store::users::find(db, user_id).await? else {
        return Ok(Available::default());
    };
    let sms_was_first = first_amr.iter().any(|m| m == AMR_SMS);
    let sms = (config.login.sms_second_factor && !sms_was_first)
        .then(|| user.verified_phone().map(str::to_string))
        .flatten();
    // A passkey login is two factors on its own; after one, no second is asked for.
    let passkey_was_first = first_amr.iter().any(|m| m == AMR_PASSKEY);
    let passkey = state.passkeys_on()
        && !passkey_was_first
        && store::passkeys::count_for_user(db, user_id).await? > 0;
    Ok(Available { sms, passkey })
}

/// The methods of a two-factor login: the first factor's, then `second`, then `mfa`.
pub fn combined_amr(first: &[String], second: &str) -> Vec<String> {
    let mut amr: Vec<String> = first
        .iter()
        .filter(|m| m.as_str() != AMR_MFA)
        .cloned()
        .collect();
    if !amr.iter().any(|m| m == second) {
        amr.push(second.to_string());
    }
    amr.push(AMR_MFA.to_string());
    amr
}

/// Whether a session was made with two factors.
pub fn is_two_factor(session: &Session) -> bool {
    session.acr == acr::MULTI_FACTOR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn methods_combine_without_repeats() {
        assert_eq!(combined_amr(&v(&["pwd"]), "sms"), v(&["pwd", "sms", "mfa"]));
        assert_eq!(
            combined_amr(&v(&["email"]), "sms"),
            v(&["email", "sms", "mfa"])
        );
        assert_eq!(
            combined_amr(&v(&["pwd", "sms", "mfa"]), "sms"),
            v(&["pwd", "sms", "mfa"])
        );
    }

    #[test]
    fn requirement_is_required_with_any_reason() {
        assert!(!Requirement::default().required());
        assert!(
            Requirement {
                reasons: vec![Reason::Own]
            }
            .required()
        );
    }
}
