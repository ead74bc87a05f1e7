//! Creating accounts.

use crate::admin::AdminError;
use crate::auth::password::{Hasher, Password};
use crate::auth::policy::{PasswordPolicy, PolicyContext};
use crate::clock::UnixTime;
use crate::crypto::random_id;
use crate::store::{self, Conn, Db};

/// A new account as asked for.
pub struct CreateUser {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub password: Option<Password>,
}

/// A checked account, its password hashed, ready to be stored ([`insert`]).
pub struct Prepared {
    /// The account's `sub`.
    pub id: String,
    email: String,
    name: Option<String>,
    phone: Option<String>,
    hash: Option<String>,
}

crate::redact::debug_showing!(Prepared { id });

/// Creates an account; returns its `sub`.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    hasher: &Hasher,
    policy: &PasswordPolicy,
    req: CreateUser,
    now: UnixTime,
) -> Result<String, AdminError> {
    let prepared = prepare(hasher, policy, req).await?;
    insert(db, &prepared, now).await
}

/// Checks a new account and hashes its password (before any transaction: hashing is slow
/// on purpose).
#[tracing::instrument(skip_all)]
pub async fn prepare(
    hasher: &Hasher,
    policy: &PasswordPolicy,
    req: CreateUser,
) -> Result<Prepared, AdminError> {
    let email = req.email.trim();
    if !valid_email(email) {
        return Err(AdminError::Invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    if let Some(name) = &req.name
        && (name.trim().is_empty()
            || name.chars().count() > 200
            || name.chars().any(char::is_control))
    {
        return Err(AdminError::Invalid(
            "the name must be 1-200 characters without control characters".into(),
        ));
    }
    if let Some(phone) = &req.phone
        && !valid_phone(phone)
    {
        return Err(AdminError::Invalid(format!(
            "{phone:?} is not a phone number in E.164 form (+46701234567)"
        )));
    }
    let hash = match &req.password {
        Some(pw) => {
            let ctx = PolicyContext {
                email: Some(email),
                name: req.name.as_deref(),
                extra: &[],
            };
            policy
                .check(pw.expose(), &ctx)
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            Some(hasher.hash(pw).await?)
        }
        None => None,
    };
    Ok(Prepared {
        id: random_id(),
        email: email.to_string(),
        name: req.name.as_deref().map(|n| n.trim().to_string()),
        phone: req.phone,
        hash,
    })
}

/// Stores a prepared account (on its own or in the caller's transaction); returns its
/// `sub`.
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: impl Into<Conn<'_>>,
    p: &Prepared,
    now: UnixTime,
) -> Result<String, AdminError> {
    let new = store::users::NewUser {
        id: &p.id,
        email: &p.email,
        name: p.name.as_deref(),
        phone: p.phone.as_deref(),
        password_hash: p.hash.as_deref(),
    };
    match store::users::insert(conn, &new, now).await {
        Ok(()) => Ok(p.id.clone()),
        Err(e) if store::is_unique_violation(&e, store::users::EMAIL_UNIQUE) => {
            Err(AdminError::Conflict(format!(
                "an account with the email {} already exists",
                p.email
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// A pragmatic email check: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters, at most 254 bytes.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// E.164: `+` then 8-15 digits.
pub fn valid_phone(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Makes a person superadmin of the installation, or takes it away (`on = false`). Returns
/// whether anything changed; a change is recorded in the audit log.
#[tracing::instrument(skip_all)]
pub async fn set_superadmin(
    state: &crate::state::AppState,
    caller: &crate::admin::Caller,
    user_id: &str,
    on: bool,
) -> Result<bool, AdminError> {
    caller.check_installation(crate::orgs::permissions::Action::SuperadminGrant)?;
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no person".into()))?;
    if (user.superadmin != 0) == on {
        return Ok(false);
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::users::set_superadmin(&mut tx, user_id, on, now).await?;
    let kind = if on {
        "admin.superadmin_granted"
    } else {
        "admin.superadmin_revoked"
    };
    crate::admin::record(
        &mut tx,
        caller,
        now,
        kind,
        None,
        Some(user_id),
        serde_json::json!({ "email": user.email }),
    )
    .await?;
    tx.commit().await?;
    crate::admin::members::notify(
        state,
        user_id,
        crate::mail::Notice::Superadmin { granted: on },
    )
    .await;
    Ok(true)
}
