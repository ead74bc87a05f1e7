//! Creating organisations and memberships.

use crate::admin::AdminError;
use crate::clock::UnixTime;
use crate::crypto::random_id;
use crate::orgs::{slugify, valid_role, valid_slug};
use crate::store::{self, Db, orgs::Organisation};

/// Creates an organisation; the slug is derived from the name when not given.
pub async fn create(
    db: &Db,
    name: &str,
    slug: Option<&str>,
    now: UnixTime,
) -> Result<Organisation, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "the name must be 1-200 characters without control characters".into(),
        ));
    }
    let slug = slug.map(str::to_string).unwrap_or_else(|| slugify(name));
    if !valid_slug(&slug) {
        return Err(AdminError::Invalid(format!(
            "{slug:?} is not a valid slug (2-63 characters a-z, 0-9 and -)"
        )));
    }
    let org = Organisation {
        id: random_id(),
        slug,
        name: name.to_string(),
        default_locale: "sv".into(),
        created_at: now,
        updated_at: now,
    };
    match store::orgs::insert(db, &org).await {
        Ok(()) => Ok(org),
        Err(e) if store::is_unique_violation(&e, store::orgs::SLUG_UNIQUE) => {
            Err(AdminError::Conflict(format!(
                "an organisation with the slug {} already exists",
                org.slug
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds a person (by email) to an organisation (by id or slug) with roles.
pub async fn add_member(
    db: &Db,
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
    let org = store::orgs::find_by_id_or_slug(db, org)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no organisation {org:?}")))?;
    let user = store::users::find_by_email(db, email)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no account with the email {email}")))?;
    let merged = store::orgs::add_member(db, &user.id, &org.id, roles, now).await?;
    Ok((org, user.id, merged))
}
