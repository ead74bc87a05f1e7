//! Outgoing mail: messages are rendered from `templates/mail/` in the person's language and
//! put in the durable `outbox` table (payload sealed with the master key); a delivery task
//! sends them. With no SMTP relay configured they are written as `.eml` files to
//! `<data_dir>/outbox` (the embedded development setup, announced loudly at start).
//!
//! INTERFACE (issue 3): the admin use-cases call [`notify`] and [`send_invitation`].
//!
//! Layout: [`message`] (a checked message), [`letter`] and [`compose`] (what each message
//! says, rendered from the templates), [`eml`] (RFC 5322 output), [`backend`] (where mail
//! goes), [`smtp`] (the SMTP relay), [`delivery`] (the outbox loop), [`dkim`] (signing).

pub mod backend;
pub mod compose;
pub mod compose_channels;
pub mod compose_keys;
pub mod compose_passkeys;
pub mod delivery;
pub mod dkim;
pub mod eml;
pub mod letter;
pub mod message;
pub mod smtp;

use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::config::Config;
use crate::crypto::random_id;
use crate::error::Result;
use crate::i18n::{Locale, Texts};
use crate::state::AppState;
use crate::store::{Conn, Tx, users::User};

pub use backend::{Backend, outbox_dir};
pub use delivery::deliver_due;
pub use message::{MailError, Message};

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
    /// They were made the installation's superadmin, or no longer are.
    Superadmin { granted: bool },
    /// An administrator ended one of their login sessions.
    SessionEnded { org_name: Option<String> },
}

/// The mail side of the application state: the backend, and the signals of this node's
/// delivery loop.
#[derive(Debug)]
pub struct Mailer {
    pub backend: Backend,
    /// Signs every message (DKIM) when `mail.dkim_*` is configured.
    pub dkim: Option<dkim::Signer>,
    /// Wakes the delivery loop when a message is enqueued.
    wake: Notify,
    /// Serialises delivery passes on this node.
    pass: Mutex<()>,
}

impl Mailer {
    /// The mailer the configuration asks for.
    pub fn from_config(config: &Config) -> Result<Self, MailError> {
        Ok(Self {
            backend: Backend::from_config(config)?,
            dkim: dkim::Signer::from_config(&config.mail)?,
            wake: Notify::new(),
            pass: Mutex::new(()),
        })
    }

    /// Wakes the delivery loop.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Mailer::wake`] was called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    async fn lock_pass(&self) -> MutexGuard<'_, ()> {
        self.pass.lock().await
    }

    /// Holds off this node's delivery passes while the guard lives (other nodes go on): for
    /// maintenance, and for tests that need a message to stay queued.
    pub async fn pause(&self) -> MutexGuard<'_, ()> {
        self.lock_pass().await
    }
}

/// Queues a message for delivery (sealed with the master key) and wakes the delivery loop.
/// Returns the outbox id.
pub async fn enqueue(state: &AppState, message: &Message) -> Result<String> {
    let id = random_id();
    enqueue_as(state, &id, message).await?;
    Ok(id)
}

/// Queues a message under a given outbox id; queuing the same id again changes nothing (a
/// key request processed twice after a crash sends one message).
pub async fn enqueue_as(state: &AppState, id: &str, message: &Message) -> Result<()> {
    queue(&state.db, state, id, message).await?;
    state.mailer.wake();
    Ok(())
}

/// Queues a message inside `tx`, the transaction of the change it tells about: it goes out
/// only if the change commits. Wake the delivery loop after the commit
/// (`state.mailer.wake()`). Returns the outbox id.
pub async fn enqueue_in(tx: &mut Tx<'_>, state: &AppState, message: &Message) -> Result<String> {
    let id = random_id();
    queue(tx, state, &id, message).await?;
    Ok(id)
}

/// Seals `message` and stores it in the outbox under `id` (once).
async fn queue(
    conn: impl Into<Conn<'_>>,
    state: &AppState,
    id: &str,
    message: &Message,
) -> Result<()> {
    message.check()?;
    delivery::queue_sealed(conn, state, (id, "email", &message.to), message).await
}

/// Tells a person what an administrator did (to their email, in their language).
pub async fn notify(state: &AppState, user: &User, notice: Notice) -> Result<()> {
    let org_name = match &notice {
        Notice::RolesChanged { org_name, .. }
        | Notice::Removed { org_name }
        | Notice::Joined { org_name, .. } => Some(org_name.as_str()),
        Notice::SessionEnded { org_name } => org_name.as_deref(),
        Notice::PasswordSet | Notice::Superadmin { .. } => None,
    };
    let locale = compose::locale_for(&state.db, user, org_name).await;
    let letter = compose::notice(Texts::new(locale), user, &notice);
    enqueue(state, &letter.to_message(&user.email)?).await?;
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
    let message = invitation(state, email, locale, org_name, link)?;
    enqueue(state, &message).await?;
    Ok(())
}

/// [`send_invitation`] queued inside `tx` (the invitation's transaction); the caller wakes
/// the delivery loop after the commit.
pub async fn send_invitation_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    email: &str,
    locale: Locale,
    org_name: &str,
    link: &str,
) -> Result<()> {
    let message = invitation(state, email, locale, org_name, link)?;
    enqueue_in(tx, state, &message).await?;
    Ok(())
}

/// The invitation message to `email` (the link is valid `admin.invitation_ttl`).
fn invitation(
    state: &AppState,
    email: &str,
    locale: Locale,
    org_name: &str,
    link: &str,
) -> Result<Message> {
    let ttl = state.config.admin.invitation_ttl;
    compose::invitation(Texts::new(locale), org_name, link, ttl).to_message(email)
}

/// Queues a person's password-reset link (valid `ttl` seconds), asked for by an
/// administrator of `org_name`, inside `tx` (the key's transaction).
pub async fn send_reset_link(
    tx: &mut Tx<'_>,
    state: &AppState,
    user: &User,
    org_name: Option<&str>,
    link: &str,
    ttl: i64,
) -> Result<()> {
    let locale = compose::locale_for(&state.db, user, org_name).await;
    let letter = compose::reset(Texts::new(locale), user, org_name, link, ttl);
    enqueue_in(tx, state, &letter.to_message(&user.email)?).await?;
    Ok(())
}

/// Tells a person their password was changed (`everywhere`: all sessions ended).
pub async fn send_password_changed(state: &AppState, user: &User, everywhere: bool) -> Result<()> {
    let locale = compose::locale_for(&state.db, user, None).await;
    let letter = compose::password_changed(Texts::new(locale), user, everywhere);
    enqueue(state, &letter.to_message(&user.email)?).await?;
    Ok(())
}
