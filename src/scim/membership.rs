//! What a SCIM User record does to the person's membership, inside the transaction that
//! stores the record.
//!
//! The consent rule is the admin API's (docs/permissions.md, "Provisioning"): a record for
//! someone who is not yet a member of the organisation sends an invitation to the record's
//! email, and the membership exists only once the person accepts it; whether an account
//! with that email exists is never revealed. A record for someone who already is a member is
//! linked to them at once. A linked record then drives the membership: its roles are the
//! member's roles, `active: false` ends the membership (suspension) and `active: true` brings
//! it back, deleting the record ends it. Each change goes through the admin use-cases'
//! in-transaction steps (last-admin rule, webhooks, audit) and the person is told by mail.

use serde_json::json;

use crate::admin::principal::ADMIN_ROLE;
use crate::admin::{invitations, members, record};
use crate::mail::Notice;
use crate::store::scim::{Lookup, UserRow};
use crate::store::{self, Tx, from_json_list};
use crate::webhooks::events::{self, Event};

use super::Scim;
use super::error::{ScimError, ScimErrorKind};

/// What to do once the transaction is committed.
#[derive(Default)]
pub struct After {
    /// Webhook messages queued.
    told: usize,
    /// Whether an invitation mail was queued.
    mailed: bool,
    /// Mail to people whose membership changed.
    notices: Vec<(String, Notice)>,
}

impl After {
    /// Wakes the delivery loop and sends the notices.
    pub async fn finish(self, s: &Scim<'_>) {
        events::wake(s.state, self.told);
        if self.mailed {
            s.state.mailer.wake();
        }
        for (user_id, notice) in self.notices {
            members::notify(s.state, &user_id, notice).await;
        }
    }

    /// Adds another record's effects.
    pub fn merge(&mut self, other: After) {
        self.told += other.told;
        self.mailed |= other.mailed;
        self.notices.extend(other.notices);
    }
}

fn sorted(mut roles: Vec<String>) -> Vec<String> {
    roles.sort();
    roles.dedup();
    roles
}

/// Links a new record to the member with its email, when the person already is a member
/// of the organisation (and no other record is linked to them). The record's roles become
/// the member's roles joined with its own, so linking never takes a role away.
pub async fn link_existing(
    tx: &mut Tx<'_>,
    s: &Scim<'_>,
    row: &mut UserRow,
) -> Result<(), ScimError> {
    if row.email.is_empty() {
        return Ok(());
    }
    let Some(user) = store::users::find_by_email_in(tx, &row.email).await? else {
        return Ok(());
    };
    let Some(current) = store::orgs::roles_in(tx, &user.id, &s.org.id).await? else {
        return Ok(());
    };
    let linked = store::scim::users_in(tx, &s.org.id, Lookup::Person(&user.id)).await?;
    if linked.iter().any(|r| r.id != row.id) {
        return Err(ScimError::new(
            ScimErrorKind::Uniqueness,
            "the member with this email is already provisioned as another User",
        ));
    }
    row.user_id = Some(user.id);
    // The member keeps the roles they hold; from now on the record drives them.
    let mut roles = from_json_list(&row.roles);
    roles.extend(current);
    row.roles = crate::store::to_json_list(&sorted(roles));
    Ok(())
}

/// Brings the membership in line with `row` (stored or about to be); `before` is the record
/// as it was (`None` for a new one). Sets `row.invitation_id`.
pub async fn settle(
    tx: &mut Tx<'_>,
    s: &Scim<'_>,
    before: Option<&UserRow>,
    row: &mut UserRow,
) -> Result<After, ScimError> {
    let mut after = After::default();
    let roles = from_json_list(&row.roles);
    let Some(user_id) = row.user_id.clone() else {
        return pending(tx, s, before, row, &roles).await;
    };
    let current = store::orgs::roles_in(tx, &user_id, &s.org.id).await?;
    let (org_id, now) = (s.org.id.as_str(), s.state.now());
    match (current, row.active != 0) {
        (Some(current), true) => {
            if sorted(current.clone()) != sorted(roles.clone()) {
                if !roles.iter().any(|r| r == ADMIN_ROLE) {
                    members::keep_an_admin(s.state, &s.caller, org_id, &current).await?;
                }
                after.told += members::set_roles_in(
                    tx, s.state, &s.caller, org_id, &user_id, &current, &roles,
                )
                .await?;
                after.notices.push((
                    user_id,
                    Notice::RolesChanged {
                        org_name: s.org.name.clone(),
                        roles,
                    },
                ));
            }
        }
        (Some(current), false) => {
            members::keep_an_admin(s.state, &s.caller, org_id, &current).await?;
            after.told +=
                members::remove_in(tx, s.state, &s.caller, org_id, &user_id, &current).await?;
            after.notices.push((
                user_id,
                Notice::Removed {
                    org_name: s.org.name.clone(),
                },
            ));
        }
        (None, true) => {
            // Back from a suspension: the person accepted this organisation before.
            let actor = s.caller.principal.actor_id();
            let merged =
                store::orgs::add_member_in(tx, &user_id, org_id, &roles, actor.as_deref(), now)
                    .await?;
            let added = Event::MemberAdded {
                org_id,
                user_id: &user_id,
            };
            after.told += events::emit(tx, s.state, added).await?;
            record(
                tx,
                &s.caller,
                now,
                "admin.member_added",
                Some(org_id),
                Some(&user_id),
                json!({ "roles": merged, "scim_user": row.id }),
            )
            .await?;
            after.notices.push((
                user_id,
                Notice::Joined {
                    org_name: s.org.name.clone(),
                    roles: merged,
                },
            ));
        }
        (None, false) => {}
    }
    Ok(after)
}

/// A record not linked to an account: an open invitation while it is active, none while not.
async fn pending(
    tx: &mut Tx<'_>,
    s: &Scim<'_>,
    before: Option<&UserRow>,
    row: &mut UserRow,
    roles: &[String],
) -> Result<After, ScimError> {
    let mut after = After::default();
    let now = s.state.now();
    let was_invited = before.is_some_and(|b| b.active != 0 && b.email == row.email)
        && invitation_open(tx, row.invitation_id.as_deref(), now).await?;
    let stale = row.active == 0 || !was_invited;
    if stale && let Some(old) = row.invitation_id.take() {
        store::invitations::revoke(&mut *tx, &s.org.id, &old, now).await?;
    }
    if row.active != 0 && row.invitation_id.is_none() && !row.email.is_empty() {
        let id = invitations::create_in(tx, s.state, &s.caller, &s.org, &row.email, roles).await?;
        row.invitation_id = Some(id);
        after.mailed = true;
    }
    Ok(after)
}

/// Whether the invitation `id` can still be accepted (a lapsed or revoked one is replaced
/// at the record's next write).
pub async fn invitation_open(
    tx: &mut Tx<'_>,
    id: Option<&str>,
    now: crate::clock::UnixTime,
) -> Result<bool, ScimError> {
    let Some(id) = id else {
        return Ok(false);
    };
    let inv = store::invitations::find_in(tx, id).await?;
    Ok(inv.is_some_and(|i| i.is_open(now)))
}

/// Ends what a deleted record drove: the membership of a linked one (its last-admin rule
/// applies), the invitation of a pending one.
pub async fn end(tx: &mut Tx<'_>, s: &Scim<'_>, row: &UserRow) -> Result<After, ScimError> {
    let mut after = After::default();
    if let Some(id) = &row.invitation_id {
        store::invitations::revoke(&mut *tx, &s.org.id, id, s.state.now()).await?;
    }
    let Some(user_id) = &row.user_id else {
        return Ok(after);
    };
    if let Some(current) = store::orgs::roles_in(tx, user_id, &s.org.id).await? {
        members::keep_an_admin(s.state, &s.caller, &s.org.id, &current).await?;
        after.told +=
            members::remove_in(tx, s.state, &s.caller, &s.org.id, user_id, &current).await?;
        after.notices.push((
            user_id.clone(),
            Notice::Removed {
                org_name: s.org.name.clone(),
            },
        ));
    }
    Ok(after)
}

/// At the acceptance of an invitation to `org_id` by `email` (inside its transaction): links
/// the pending record with that email to the person, and makes the record's roles the
/// member's (the platform may have changed them since the invitation). Returns the member's
/// roles.
pub async fn link_accepted(
    tx: &mut Tx<'_>,
    org_id: &str,
    email: &str,
    user_id: &str,
    merged: Vec<String>,
    now: crate::clock::UnixTime,
) -> Result<Vec<String>, sqlx::Error> {
    if !store::scim::users_in(tx, org_id, Lookup::Person(user_id))
        .await?
        .is_empty()
    {
        return Ok(merged);
    }
    let rows = store::scim::users_in(tx, org_id, Lookup::Email(email)).await?;
    let Some(mut row) = rows
        .into_iter()
        .find(|r| r.user_id.is_none() && r.active != 0)
    else {
        return Ok(merged);
    };
    row.user_id = Some(user_id.to_string());
    row.invitation_id = None;
    row.updated_at = now;
    store::scim::update_user(tx, &row).await?;
    let roles = sorted(from_json_list(&row.roles));
    if roles != sorted(merged.clone()) {
        store::orgs::set_roles(&mut *tx, org_id, user_id, &roles, now).await?;
        return Ok(roles);
    }
    Ok(merged)
}
