//! The setup link: how the first administrator gets in (ARCHITECTURE.md section 6,
//! `nyckel admin setup-link`; SECURITY.md 6.3.2: no default accounts). The operator runs the
//! command on the server and gets a one-time link, valid `admin.setup_link_ttl` seconds;
//! its key is stored as a SHA-256 (`login_keys`, purpose `setup`, with the email if one was
//! given). Whoever opens it chooses the account's email (unless fixed by the operator), name
//! and password, and that account becomes a superadmin.
//!
//! Looking at a key ([`check`]) changes nothing; [`complete`] validates everything first,
//! so a refused form leaves the key usable, then uses the key in one atomic statement.

use std::net::IpAddr;

use serde_json::json;

use crate::admin::users::valid_email;
use crate::auth::change;
use crate::auth::password::Password;
use crate::auth::policy::PolicyError;
use crate::clock::UnixTime;
use crate::config::Config;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::error::Result;
use crate::state::AppState;
use sqlx::Connection;

use crate::store::{self, Db, Tx, audit::Event, login_keys::NewKey};

/// The `login_keys.purpose` of setup keys.
pub const PURPOSE: &str = "setup";

/// The path of setup links; the key follows.
pub const PATH: &str = "/setup/";

/// A new setup link. Its `Debug` leaves out the link (it is the secret).
pub struct SetupLink {
    pub url: String,
    pub expires_at: UnixTime,
    /// Whether superadmins existed already (the command warns).
    pub superadmins_exist: bool,
}

crate::redact::debug_showing!(SetupLink {
    expires_at,
    superadmins_exist
});

/// Why a setup link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error(transparent)]
    Internal(#[from] crate::error::Error),
}

impl From<sqlx::Error> for SetupError {
    fn from(e: sqlx::Error) -> Self {
        SetupError::Internal(e.into())
    }
}

/// Creates a setup link (for `email`, if given) at `now`.
#[tracing::instrument(skip_all)]
pub async fn create_link(
    db: &Db,
    config: &Config,
    email: Option<&str>,
    now: UnixTime,
) -> Result<SetupLink, SetupError> {
    let email = email.map(str::trim);
    if let Some(e) = email
        && !valid_email(e)
    {
        return Err(SetupError::BadEmail(e.to_string()));
    }
    let superadmins_exist = store::users::any_superadmin(db).await?;
    let key = secret_token();
    let expires_at = now + config.admin.setup_link_ttl;
    let mut tx = db.begin().await?;
    store::login_keys::insert(
        &mut tx,
        &NewKey {
            key_hash: &sha256_b64(&key),
            purpose: PURPOSE,
            user_id: None,
            email,
            channel: "cli",
            expires_at,
            ..Default::default()
        },
        now,
    )
    .await?;
    store::audit::append(
        &mut tx,
        &Event {
            kind: "admin.setup_link",
            actor_id: Some("cli"),
            detail: json!({ "email": email, "expires_at": expires_at }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    let base = config.issuer();
    Ok(SetupLink {
        url: format!("{}{PATH}{key}", base.trim_end_matches('/')),
        expires_at,
        superadmins_exist,
    })
}

/// A usable setup key: the email the operator fixed, if any.
#[derive(Debug, Clone)]
pub struct SetupKey {
    pub email: Option<String>,
}

/// The setup key, if usable. Changes nothing.
#[tracing::instrument(skip_all)]
pub async fn check(db: &Db, key: &str, now: UnixTime) -> Result<Option<SetupKey>> {
    Ok(
        store::login_keys::find_usable(db, &sha256_b64(key), PURPOSE, now)
            .await?
            .map(|k| SetupKey { email: k.email }),
    )
}

/// The form as filled in. Not `Debug`: it holds the password.
pub struct SetupForm<'a> {
    /// Ignored when the operator fixed the email.
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a Password,
}

/// The outcome of completing the setup.
#[derive(Debug)]
pub enum SetupOutcome {
    /// The account (created or existing) is a superadmin with the new password.
    Done { user_id: String, created: bool },
    /// Unknown, used or expired key: nothing changed.
    InvalidKey,
    /// Not an email address: nothing changed, the key still works.
    BadEmail,
    /// The link was made without an email and the one typed has an account: a link may take
    /// over an existing account only when the operator named it (`--email`).
    EmailTaken,
    /// An unusable name: nothing changed, the key still works.
    BadName,
    /// The password breaks the policy: nothing changed, the key still works.
    Refused(PolicyError),
}

/// Uses a setup key: creates or finds the account, sets its password and makes it a
/// superadmin.
#[tracing::instrument(skip_all)]
pub async fn complete(
    state: &AppState,
    key: &str,
    form: SetupForm<'_>,
    ip: IpAddr,
) -> Result<SetupOutcome> {
    let Some(found) = check(&state.db, key, state.now()).await? else {
        return Ok(SetupOutcome::InvalidKey);
    };
    let email = found
        .email
        .as_deref()
        .unwrap_or(form.email)
        .trim()
        .to_string();
    if !valid_email(&email) {
        return Ok(SetupOutcome::BadEmail);
    }
    let name = form.name.trim();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Ok(SetupOutcome::BadName);
    }
    let name = (!name.is_empty()).then_some(name);
    let existing = store::users::find_by_email(&state.db, &email).await?;
    let fixed = found.email.is_some();
    if existing.is_some() && !fixed {
        return Ok(SetupOutcome::EmailTaken);
    }
    if existing.is_none() && name.is_none() {
        return Ok(SetupOutcome::BadName);
    }
    let user_id = existing.as_ref().map(|u| u.id.as_str());
    let context_name = name.or(existing.as_ref().and_then(|u| u.name.as_deref()));
    if let Err(e) =
        change::check_policy(state, &email, context_name, user_id, form.password).await?
    {
        return Ok(SetupOutcome::Refused(e));
    }
    let hash = state.hasher.hash(form.password).await?;
    let now = state.now();
    // The key's use, the account, its password and superadmin flag and the audit event:
    // one transaction.
    let mut tx = state.db.begin().await?;
    if store::login_keys::consume(&mut tx, &sha256_b64(key), PURPOSE, now)
        .await?
        .is_none()
    {
        return Ok(SetupOutcome::InvalidKey);
    }
    let (user_id, created) = match existing {
        Some(u) => (u.id, false),
        None => match create_account(&mut tx, &email, name, now).await? {
            // Created by someone else in the meantime: not this link's to take over.
            (_, false) if !fixed => return Ok(SetupOutcome::EmailTaken),
            made => made,
        },
    };
    let ended = change::install(&mut tx, state, (&user_id, &hash), None, now).await?;
    store::users::set_superadmin(&mut tx, &user_id, true, now).await?;
    let ip = ip.to_string();
    store::audit::append(
        &mut tx,
        &Event {
            kind: "admin.setup",
            user_id: Some(&user_id),
            ip: Some(&ip),
            actor_id: Some(&user_id),
            detail: json!({ "created": created }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    ended.wake(state);
    tracing::warn!(user_id = %user_id, created, "setup link used: the account is now a superadmin");
    Ok(SetupOutcome::Done { user_id, created })
}

/// Creates the account inside `tx` (or finds it, when it was created in the meantime).
async fn create_account(
    tx: &mut Tx<'_>,
    email: &str,
    name: Option<&str>,
    now: UnixTime,
) -> Result<(String, bool)> {
    let id = random_id();
    let new = store::users::NewUser {
        id: &id,
        email,
        name,
        phone: None,
        password_hash: None,
    };
    // A savepoint: on PostgreSQL a failed statement would abort the whole transaction.
    let mut attempt = Connection::begin(&mut **tx).await?;
    match store::users::insert(&mut attempt, &new, now).await {
        Ok(()) => {
            attempt.commit().await?;
            Ok((id, true))
        }
        Err(e) if store::is_unique_violation(&e, store::users::EMAIL_UNIQUE) => {
            attempt.rollback().await?;
            match store::users::find_by_email_in(tx, email).await? {
                Some(u) => Ok((u.id, false)),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}
