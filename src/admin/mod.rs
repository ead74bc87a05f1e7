//! Administrative use-cases shared by the CLI, the admin REST API and the admin web UI:
//! organisations and their roles, members, invitations, clients, sessions and the audit log.
//! Every use-case takes the [`Caller`], checks the permission matrix
//! (`orgs::permissions`) before reading or changing anything, makes the change and records
//! its audit event in one transaction ([`record`]), and after the commit notifies the person
//! acted on. Validation lives here, not in the callers.

pub mod audit;
pub mod clients;
pub mod cursor;
pub mod imports;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod principal;
pub mod sessions;
pub mod users;
pub mod webhooks;

use serde_json::Value;

use crate::clock::UnixTime;
use crate::orgs::permissions::{Action, Refusal};
use crate::state::AppState;
use crate::store::{self, Tx};
pub use principal::Principal;

/// Why an administrative action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input (400).
    #[error("{0}")]
    Invalid(String),
    /// Conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// No such object, or one the caller may not know about (404).
    #[error("{0}")]
    NotFound(String),
    /// Known to the caller but not theirs to do (403).
    #[error("{0}")]
    Forbidden(String),
    /// Not signed in (401).
    #[error("authentication required")]
    Unauthenticated,
    #[error(transparent)]
    Internal(#[from] crate::error::Error),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Internal(e.into())
    }
}

impl AdminError {
    /// A stable machine-readable code for the error shape of the API.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Invalid(_) => "invalid_request",
            AdminError::Conflict(_) => "conflict",
            AdminError::NotFound(_) => "not_found",
            AdminError::Forbidden(_) => "forbidden",
            AdminError::Unauthenticated => "unauthenticated",
            AdminError::Internal(_) => "internal_error",
        }
    }

    /// Whether the database was unavailable ([`crate::store::is_unavailable`]): the
    /// surfaces answer 503 with `Retry-After`, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AdminError::Internal(e) if e.is_unavailable())
    }

    /// The refusal for an action the matrix does not allow; `what` names the object for the
    /// 404 (the same words as for an object that does not exist).
    pub fn refused(r: Refusal, action: Action, what: &str) -> AdminError {
        match r {
            Refusal::Unauthenticated => AdminError::Unauthenticated,
            Refusal::NotFound => AdminError::NotFound(format!("no {what}")),
            Refusal::Forbidden => AdminError::Forbidden(format!("you may not do {action} here")),
        }
    }
}

/// Who is calling, and from where (recorded in the audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub ip: Option<String>,
}

impl Caller {
    /// The operator at the command line.
    pub fn operator() -> Caller {
        Caller {
            principal: Principal::Operator,
            ip: None,
        }
    }

    /// Checks an action on an object of `org_id`; `what` names the object for a 404.
    pub fn check(&self, action: Action, org_id: &str, what: &str) -> Result<(), AdminError> {
        self.principal
            .check(action, org_id)
            .map_err(|r| AdminError::refused(r, action, what))
    }

    /// Checks an installation-level action.
    pub fn check_installation(&self, action: Action) -> Result<(), AdminError> {
        self.principal
            .check_installation(action)
            .map_err(|r| AdminError::refused(r, action, "object"))
    }
}

/// Records an admin action in the audit log, inside the action's transaction `tx`: the
/// change and its record commit together or not at all (docs/resilience.md: one transaction
/// per change). A failure to record fails the action, and nothing of it stays.
pub(crate) async fn record(
    tx: &mut Tx<'_>,
    caller: &Caller,
    now: UnixTime,
    kind: &str,
    organisation_id: Option<&str>,
    user_id: Option<&str>,
    detail: Value,
) -> Result<(), AdminError> {
    let actor = caller.principal.actor_id();
    let client_id = match &caller.principal {
        Principal::Service { client_id, .. } => Some(client_id.as_str()),
        _ => None,
    };
    store::audit::append(
        tx,
        &store::audit::Event {
            kind,
            user_id,
            client_id,
            ip: caller.ip.as_deref(),
            detail,
            actor_id: actor.as_deref(),
            organisation_id,
        },
        now,
    )
    .await?;
    Ok(())
}

/// What a caller names when acting on objects an organisation or the installation owns
/// (clients, webhook endpoints): one object by id, or an organisation's (or the
/// installation's) collection. A refusal to someone without standing looks exactly like a
/// missing object of that kind: "no client" for a client, "no organisation" for an
/// organisation's collection (the same answer as for an organisation that does not exist,
/// so an org admin cannot learn which organisations exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// One object, by the name of its kind (`client`).
    One(&'static str),
    /// A collection, by its name (`clients`).
    Collection(&'static str),
}

/// Checks `action` on objects owned by `owner` (`None`: the installation, superadmin only).
/// An installation object that someone else asks for by id does not exist for them;
/// listing or creating installation objects is simply forbidden.
pub(crate) fn check_owner(
    caller: &Caller,
    action: Action,
    owner: Option<&str>,
    named: Named,
) -> Result<(), AdminError> {
    match (owner, named) {
        (Some(org), Named::One(what)) => caller.check(action, org, what),
        (Some(org), Named::Collection(_)) => caller.check(action, org, "organisation"),
        (None, _) if caller.principal.is_superadmin() => Ok(()),
        (None, _) if matches!(caller.principal, Principal::Anonymous) => {
            Err(AdminError::Unauthenticated)
        }
        (None, Named::One(what)) => Err(AdminError::NotFound(format!("no {what}"))),
        (None, Named::Collection(what)) => Err(AdminError::Forbidden(format!(
            "only a superadmin manages the installation's own {what}"
        ))),
    }
}

/// Loads an organisation by id or slug, as `what` for a 404.
pub(crate) async fn load_org(
    state: &AppState,
    key: &str,
) -> Result<store::orgs::Organisation, AdminError> {
    store::orgs::find_by_id_or_slug(&state.db, key)
        .await?
        .ok_or_else(|| AdminError::NotFound("no organisation".into()))
}

/// Checks a text field: trimmed, 1..=max characters, no control characters.
pub(crate) fn clean_text(field: &str, value: &str, max: usize) -> Result<String, AdminError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{field} must be 1-{max} characters without control characters"
        )));
    }
    Ok(v.to_string())
}
