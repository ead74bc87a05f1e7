//! Invitations: an organisation admin invites a person by email with roles. The link goes to
//! the person only (the admin never sees it); accepting it adds the membership to the
//! existing account with that email, or creates the account first. A link works once, only
//! the newest invitation of an email to an organisation works, and it expires
//! (`[admin] invitation_ttl`).

use serde::Serialize;
use serde_json::json;

use crate::admin::cursor;
use crate::admin::members::check_roles;
use crate::admin::users::{CreateUser, valid_email};
use crate::admin::{AdminError, Caller, load_org, record};
use crate::auth::password::Password;
use crate::auth::policy::PasswordPolicy;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::i18n::Locale;
use crate::mail::{self, Notice};
use crate::orgs::permissions::Action;
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, from_json_list, invitations::Invitation};
use crate::webhooks::events::{self, Event};

/// An invitation as admins see it (never its link).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Invitation)]
pub struct InvitationView {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub roles: Vec<String>,
    #[schema(required = true)]
    pub invited_by: Option<String>,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub expires_at: i64,
    /// `open`, `accepted`, `revoked` or `expired`.
    #[schema(schema_with = crate::http::api::doc::invitation_status)]
    pub status: &'static str,
    #[schema(required = true)]
    pub accepted_at: Option<i64>,
}

impl InvitationView {
    fn new(i: Invitation, now: i64) -> Self {
        let status = if i.accepted_at.is_some() {
            "accepted"
        } else if i.revoked_at.is_some() {
            "revoked"
        } else if i.expires_at <= now {
            "expired"
        } else {
            "open"
        };
        InvitationView {
            id: i.id,
            organisation_id: i.organisation_id,
            email: i.email,
            roles: from_json_list(&i.roles),
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
            status,
            accepted_at: i.accepted_at,
        }
    }
}

/// Invites `email` with `roles` and mails the link to that address.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    email: &str,
    roles: &[String],
) -> Result<InvitationView, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationCreate, &org.id, "organisation")?;
    let email = email.trim();
    if !valid_email(email) {
        return Err(AdminError::Invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    let roles = check_roles(state, &org.id, roles).await?;
    let now = state.now();
    // The invitation, its message and its audit event: one transaction.
    let mut tx = state.db.begin().await?;
    let id = create_in(&mut tx, state, caller, &org, email, &roles).await?;
    tx.commit().await?;
    state.mailer.wake();
    let inv = store::invitations::find(&state.db, &id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no invitation".into()))?;
    Ok(InvitationView::new(inv, now))
}

/// The invitation of [`create`] inside `tx` (also SCIM's): stores it, queues its mail in
/// the person's language (else the organisation's) and records the audit event. The caller
/// checked the email and the roles. Returns the invitation's id.
pub(crate) async fn create_in(
    tx: &mut store::Tx<'_>,
    state: &AppState,
    caller: &Caller,
    org: &store::orgs::Organisation,
    email: &str,
    roles: &[String],
) -> Result<String, AdminError> {
    let now = state.now();
    let key = secret_token();
    let id = random_id();
    let actor = caller.principal.actor_id();
    let existing = store::users::find_by_email_in(tx, email).await?;
    let locale = existing
        .as_ref()
        .and_then(|u| u.locale.as_deref())
        .and_then(Locale::from_tag)
        .or_else(|| Locale::from_tag(&org.default_locale))
        .unwrap_or_default();
    let link = state.url(&format!("/invite/{key}"));
    store::invitations::insert(
        &mut *tx,
        &store::invitations::NewInvitation {
            id: &id,
            key_hash: &sha256_b64(&key),
            organisation_id: &org.id,
            email,
            roles,
            invited_by: actor.as_deref(),
            expires_at: now + state.config.admin.invitation_ttl,
        },
        now,
    )
    .await?;
    mail::send_invitation_in(tx, state, email, locale, &org.name, &link).await?;
    record(
        tx,
        caller,
        now,
        "admin.invitation_created",
        Some(&org.id),
        existing.as_ref().map(|u| u.id.as_str()),
        json!({ "invitation": id, "email": email, "roles": roles }),
    )
    .await?;
    Ok(id)
}

/// The organisation's invitations, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<InvitationView>, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationList, &org.id, "organisation")?;
    let limit = page::limit(limit);
    let before = cursor::timed(cursor)?;
    let rows = store::invitations::list(
        &state.db,
        &org.id,
        before.as_ref().map(|(a, i)| (*a, i.as_str())),
        limit,
    )
    .await?;
    let now = state.now();
    let page = page::finish(rows, limit, |i| {
        page::encode_cursor(&[&i.created_at.to_string(), &i.id])
    });
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|i| InvitationView::new(i, now))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Revokes an open invitation.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    id: &str,
) -> Result<(), AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationRevoke, &org.id, "organisation")?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !store::invitations::revoke(&mut tx, &org.id, id, now).await? {
        return Err(AdminError::NotFound("no open invitation".into()));
    }
    record(
        &mut tx,
        caller,
        now,
        "admin.invitation_revoked",
        Some(&org.id),
        None,
        json!({ "invitation": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the invited person sees before accepting.
#[derive(Debug, Clone)]
pub struct Preview {
    pub org_name: String,
    pub email: String,
    pub roles: Vec<String>,
    /// Whether an account with the email exists (then no password is asked for).
    pub account_exists: bool,
    pub locale: Locale,
}

/// Looks at an invitation by its link key without using it (GET of the link).
#[tracing::instrument(skip_all)]
pub async fn preview(state: &AppState, key: &str) -> Result<Option<Preview>, AdminError> {
    let Some(inv) = store::invitations::find_open(&state.db, &sha256_b64(key), state.now()).await?
    else {
        return Ok(None);
    };
    let Some(org) = store::orgs::find_by_id_or_slug(&state.db, &inv.organisation_id).await? else {
        return Ok(None);
    };
    let user = store::users::find_by_email(&state.db, &inv.email).await?;
    let locale = user
        .as_ref()
        .and_then(|u| u.locale.as_deref())
        .and_then(Locale::from_tag)
        .or_else(|| Locale::from_tag(&org.default_locale))
        .unwrap_or_default();
    Ok(Some(Preview {
        org_name: org.name,
        email: inv.email,
        roles: from_json_list(&inv.roles),
        account_exists: user.is_some(),
        locale,
    }))
}

/// The details of a new account, for an invited person without one.
pub struct NewAccount {
    pub name: String,
    pub password: Password,
}

/// The result of accepting.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub user_id: String,
    pub org_name: String,
    pub roles: Vec<String>,
    /// Whether the account was created now.
    pub created: bool,
}

/// Accepts an invitation (POST from the link's page). The link proves control of the
/// address, so the email counts as verified.
#[tracing::instrument(skip_all)]
pub async fn accept(
    state: &AppState,
    key: &str,
    new_account: Option<NewAccount>,
    ip: Option<&str>,
) -> Result<Accepted, AdminError> {
    let gone = || {
        AdminError::NotFound("this invitation has expired, was revoked or was already used".into())
    };
    let key_hash = sha256_b64(key);
    let now = state.now();
    let inv = store::invitations::find_open(&state.db, &key_hash, now)
        .await?
        .ok_or_else(gone)?;
    let org = store::orgs::find_by_id_or_slug(&state.db, &inv.organisation_id)
        .await?
        .ok_or_else(gone)?;
    let existing = store::users::find_by_email(&state.db, &inv.email).await?;
    // A new account is checked and its password hashed before the transaction.
    let new = match (&existing, new_account) {
        (Some(_), _) => None,
        (None, None) => {
            return Err(AdminError::Invalid(
                "choose a name and a password for your new account".into(),
            ));
        }
        (None, Some(acc)) => Some(
            crate::admin::users::prepare(
                &state.hasher,
                &PasswordPolicy::from_config(&state.config.password),
                CreateUser {
                    email: inv.email.clone(),
                    name: Some(acc.name),
                    phone: None,
                    password: Some(acc.password),
                },
            )
            .await?,
        ),
    };
    // The account (when new), the invitation's use, the membership, the verified email and
    // the audit event: one transaction.
    let mut tx = state.db.begin().await?;
    let (user_id, created) = match (existing, new) {
        (Some(u), _) => (u.id, false),
        (None, Some(p)) => (crate::admin::users::insert(&mut tx, &p, now).await?, true),
        (None, None) => return Err(gone()),
    };
    let Some(inv) = store::invitations::accept(&mut tx, &key_hash, &user_id, now).await? else {
        return Err(gone());
    };
    let roles = from_json_list(&inv.roles);
    let merged = store::orgs::add_member_in(
        &mut tx,
        &user_id,
        &org.id,
        &roles,
        inv.invited_by.as_deref(),
        now,
    )
    .await?;
    store::users::set_email_verified(&mut tx, &user_id, now).await?;
    // A SCIM User record waiting for this person is linked now, and its roles count.
    let merged =
        crate::scim::membership::link_accepted(&mut tx, &org.id, &inv.email, &user_id, merged, now)
            .await?;
    let (org_id, user) = (org.id.as_str(), user_id.as_str());
    let mut told = events::emit(
        &mut tx,
        state,
        Event::MemberAdded {
            org_id,
            user_id: user,
        },
    )
    .await?;
    let accepted = Event::InvitationAccepted {
        org_id,
        user_id: user,
        invitation_id: &inv.id,
    };
    told += events::emit(&mut tx, state, accepted).await?;
    store::audit::append(
        &mut tx,
        &store::audit::Event {
            kind: "admin.invitation_accepted",
            user_id: Some(&user_id),
            ip,
            detail: json!({ "invitation": inv.id, "roles": merged, "created_account": created }),
            actor_id: Some(&user_id),
            organisation_id: Some(&org.id),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    events::wake(state, told);
    crate::admin::members::notify(
        state,
        &user_id,
        Notice::Joined {
            org_name: org.name.clone(),
            roles: merged.clone(),
        },
    )
    .await;
    Ok(Accepted {
        user_id,
        org_name: org.name,
        roles: merged,
        created,
    })
}
