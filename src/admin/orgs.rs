//! Organisations and their own role lists.

use serde::Serialize;
use serde_json::json;

use crate::admin::cursor;
use crate::admin::principal::ADMIN_ROLE;
use crate::admin::{AdminError, Caller, clean_text, load_org, record};
use crate::clock::UnixTime;
use crate::crypto::random_id;
use crate::i18n::{Locale, Texts};
use crate::orgs::permissions::Action;
use crate::orgs::{slugify, valid_role, valid_slug};
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, Db, Tx, orgs::Organisation};

/// Roles every new organisation starts with.
pub const DEFAULT_ROLES: &[(&str, &str)] = &[
    (
        ADMIN_ROLE,
        "Manages the members, roles and clients of the organisation",
    ),
    ("member", "Member"),
];

/// Languages an organisation may default to.
pub const LOCALES: &[&str] = &["sv", "en"];

/// An organisation as the admin surface shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Org)]
pub struct OrgView {
    pub id: String,
    pub slug: String,
    pub name: String,
    #[schema(schema_with = crate::http::api::doc::locale)]
    pub default_locale: String,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
}

impl From<Organisation> for OrgView {
    fn from(o: Organisation) -> Self {
        OrgView {
            id: o.id,
            slug: o.slug,
            name: o.name,
            default_locale: o.default_locale,
            created_at: o.created_at,
        }
    }
}

/// What may be changed on an organisation (absent fields stay).
#[derive(Debug, Default, Clone)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub default_locale: Option<String>,
}

/// Creates an organisation with the default roles, in one transaction, without an audit
/// event (fixtures); the slug is derived from the name when not given. The operator's
/// command records the event with [`create_in`]; [`create_as`] checks a caller first.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    name: &str,
    slug: Option<&str>,
    now: UnixTime,
) -> Result<Organisation, AdminError> {
    let mut tx = db.begin().await?;
    let org = create_in(&mut tx, name, slug, "sv", now).await?;
    tx.commit().await?;
    Ok(org)
}

/// Creates an organisation with the default roles and `default_locale` inside `tx`.
#[tracing::instrument(skip_all)]
pub async fn create_in(
    tx: &mut Tx<'_>,
    name: &str,
    slug: Option<&str>,
    default_locale: &str,
    now: UnixTime,
) -> Result<Organisation, AdminError> {
    let name = clean_text("the name", name, 200)?;
    let slug = slug.map(str::to_string).unwrap_or_else(|| slugify(&name));
    check_slug(&slug)?;
    check_locale(default_locale)?;
    let org = Organisation {
        id: random_id(),
        slug,
        name,
        default_locale: default_locale.into(),
        created_at: now,
        updated_at: now,
    };
    match store::orgs::insert(&mut *tx, &org).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e, store::orgs::SLUG_UNIQUE) => {
            return Err(slug_taken(&org.slug));
        }
        Err(e) => return Err(e.into()),
    }
    let texts = Texts::new(Locale::from_tag(default_locale).unwrap_or_default());
    for (role, description) in DEFAULT_ROLES {
        store::orgs::put_role(&mut *tx, &org.id, role, texts.t(description), now).await?;
    }
    Ok(org)
}

fn check_slug(slug: &str) -> Result<(), AdminError> {
    if valid_slug(slug) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "{slug:?} is not a valid slug (2-63 characters a-z, 0-9 and -)"
        )))
    }
}

fn slug_taken(slug: &str) -> AdminError {
    AdminError::Conflict(format!(
        "an organisation with the slug {slug} already exists"
    ))
}

/// Creates an organisation (superadmin).
#[tracing::instrument(skip_all)]
pub async fn create_as(
    state: &AppState,
    caller: &Caller,
    name: &str,
    slug: Option<&str>,
    default_locale: Option<&str>,
) -> Result<OrgView, AdminError> {
    caller.check_installation(Action::OrgCreate)?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let org = create_in(&mut tx, name, slug, default_locale.unwrap_or("sv"), now).await?;
    record_created(&mut tx, caller, now, &org).await?;
    tx.commit().await?;
    Ok(org.into())
}

/// Records the creation of `org` by `caller` (in the creation's transaction).
#[tracing::instrument(skip_all)]
pub async fn record_created(
    tx: &mut Tx<'_>,
    caller: &Caller,
    now: UnixTime,
    org: &Organisation,
) -> Result<(), AdminError> {
    record(
        tx,
        caller,
        now,
        "admin.org_created",
        Some(&org.id),
        None,
        json!({ "slug": org.slug, "name": org.name }),
    )
    .await
}

fn check_locale(l: &str) -> Result<(), AdminError> {
    if LOCALES.contains(&l) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "default_locale must be one of {}",
            LOCALES.join(", ")
        )))
    }
}

/// Organisations the caller administers (all for a superadmin), by slug.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<OrgView>, AdminError> {
    caller.check_installation(Action::OrgList)?;
    let limit = page::limit(limit);
    let after = cursor::key(cursor, 1)?.map(|mut k| k.swap_remove(0));
    let ids = caller.principal.administered();
    let rows = store::orgs::list(&state.db, ids.as_deref(), after.as_deref(), limit).await?;
    let page = page::finish(rows, limit, |o| page::encode_cursor(&[&o.slug]));
    Ok(Page {
        items: page.items.into_iter().map(OrgView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One organisation (by id or slug).
#[tracing::instrument(skip_all)]
pub async fn get(state: &AppState, caller: &Caller, key: &str) -> Result<OrgView, AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::OrgRead, &org.id, "organisation")?;
    Ok(org.into())
}

/// Changes an organisation's name, slug or default language (superadmin).
#[tracing::instrument(skip_all)]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    key: &str,
    changes: OrgChanges,
) -> Result<OrgView, AdminError> {
    let mut org = load_org(state, key).await?;
    caller.check(Action::OrgUpdate, &org.id, "organisation")?;
    if let Some(name) = &changes.name {
        org.name = clean_text("the name", name, 200)?;
    }
    if let Some(slug) = &changes.slug {
        check_slug(slug)?;
        org.slug = slug.clone();
    }
    if let Some(l) = &changes.default_locale {
        check_locale(l)?;
        org.default_locale = l.clone();
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    match store::orgs::update(&mut tx, &org, now).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e, store::orgs::SLUG_UNIQUE) => {
            return Err(slug_taken(&org.slug));
        }
        Err(e) => return Err(e.into()),
    }
    record(
        &mut tx,
        caller,
        now,
        "admin.org_updated",
        Some(&org.id),
        None,
        json!({ "slug": org.slug, "name": org.name, "default_locale": org.default_locale }),
    )
    .await?;
    tx.commit().await?;
    Ok(org.into())
}

/// Deletes an organisation with its memberships, roles, clients and invitations (superadmin).
#[tracing::instrument(skip_all)]
pub async fn delete(state: &AppState, caller: &Caller, key: &str) -> Result<(), AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::OrgDelete, &org.id, "organisation")?;
    let mut tx = state.db.begin().await?;
    if !store::orgs::delete(&mut tx, &org.id).await? {
        return Err(AdminError::NotFound("no organisation".into()));
    }
    record(
        &mut tx,
        caller,
        state.now(),
        "admin.org_deleted",
        Some(&org.id),
        None,
        json!({ "slug": org.slug, "name": org.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The organisation's roles.
#[tracing::instrument(skip_all)]
pub async fn roles(
    state: &AppState,
    caller: &Caller,
    key: &str,
) -> Result<Vec<store::orgs::Role>, AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::RoleList, &org.id, "organisation")?;
    Ok(store::orgs::roles(&state.db, &org.id).await?)
}

/// Adds a role or changes its description.
#[tracing::instrument(skip_all)]
pub async fn put_role(
    state: &AppState,
    caller: &Caller,
    key: &str,
    name: &str,
    description: &str,
) -> Result<store::orgs::Role, AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::RoleWrite, &org.id, "organisation")?;
    if !valid_role(name) {
        return Err(AdminError::Invalid(format!(
            "{name:?} is not a valid role name (1-64 characters a-z, 0-9, _ and -)"
        )));
    }
    let description = description.trim();
    if description.chars().count() > 500 || description.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "the description must be at most 500 characters without control characters".into(),
        ));
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::orgs::put_role(&mut tx, &org.id, name, description, now).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.role_saved",
        Some(&org.id),
        None,
        json!({ "role": name, "description": description }),
    )
    .await?;
    tx.commit().await?;
    let roles = store::orgs::roles(&state.db, &org.id).await?;
    roles
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| AdminError::NotFound("no role".into()))
}

/// Deletes a role (and takes it from every member who held it). The built-in `admin` role
/// cannot be deleted.
#[tracing::instrument(skip_all)]
pub async fn delete_role(
    state: &AppState,
    caller: &Caller,
    key: &str,
    name: &str,
) -> Result<(), AdminError> {
    let org = load_org(state, key).await?;
    caller.check(Action::RoleWrite, &org.id, "organisation")?;
    if name == ADMIN_ROLE {
        return Err(AdminError::Conflict(
            "the admin role is built in and cannot be deleted".into(),
        ));
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !store::orgs::delete_role(&mut tx, &org.id, name, now).await? {
        return Err(AdminError::NotFound("no role".into()));
    }
    record(
        &mut tx,
        caller,
        now,
        "admin.role_deleted",
        Some(&org.id),
        None,
        json!({ "role": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a person (by email) to an organisation (by id or slug) with roles, in one
/// transaction, without an audit event (fixtures). Roles missing from the organisation's
/// list are added to it. The operator's command records the event with [`add_member_in`].
#[tracing::instrument(skip_all)]
pub async fn add_member(
    db: &Db,
    org: &str,
    email: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<(Organisation, String, Vec<String>), AdminError> {
    let mut tx = db.begin().await?;
    let added = add_member_in(&mut tx, org, email, roles, now).await?;
    tx.commit().await?;
    Ok(added)
}

/// [`add_member`] inside `tx` (which also reads the organisation and the person, so the
/// roles are merged with the membership as it is when the transaction holds it).
#[tracing::instrument(skip_all)]
pub async fn add_member_in(
    tx: &mut Tx<'_>,
    org: &str,
    email: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<(Organisation, String, Vec<String>), AdminError> {
    if roles.is_empty() {
        return Err(AdminError::Invalid("give at least one --role".into()));
    }
    if let Some(bad) = roles.iter().find(|r| !valid_role(r)) {
        return Err(AdminError::Invalid(format!(
            "{bad:?} is not a valid role name (1-64 characters a-z, 0-9, _ and -)"
        )));
    }
    let org = store::orgs::find_by_id_or_slug_in(tx, org)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no organisation {org:?}")))?;
    let user = store::users::find_by_email_in(tx, email)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no account with the email {email}")))?;
    store::orgs::ensure_roles(&mut *tx, &org.id, roles, now).await?;
    let merged = store::orgs::add_member_in(tx, &user.id, &org.id, roles, None, now).await?;
    Ok((org, user.id, merged))
}
