//! The events webhooks carry, and queueing them inside the transaction that makes the change
//! ([`emit`]): the change and the events it owes commit together or not at all, whichever
//! surface (admin UI, API, CLI, a person's own page) made it.
//!
//! A body is `{"type", "timestamp", "data"}` (the shape the Standard Webhooks specification
//! recommends). `data` holds what the endpoint's organisation may already see through the
//! admin API and nothing more: the organisation, and the member as `GET
//! /orgs/{org}/members/{id}` shows them (never a password, a key or a token, nothing about
//! other organisations). An installation endpoint hears every organisation's events, each
//! naming its organisation. The body is built when the event happens (what was true then),
//! sealed, and sent later by `webhooks::deliver`.

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{Value, json};

use crate::admin::clients::ClientView;
use crate::admin::members::MemberView;
use crate::crypto::random_id;
use crate::error::Result;
use crate::state::AppState;
use crate::store::clients::Client;
use crate::store::webhooks::{EndpointRow, Queued};
use crate::store::{self, Tx};

/// Every event type, as endpoints subscribe to them.
pub const TYPES: &[&str] = &[
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MEMBER_ROLES_CHANGED,
    PERSON_UPDATED,
    PERSON_ERASED,
    INVITATION_ACCEPTED,
    CLIENT_CHANGED,
];
pub const MEMBER_ADDED: &str = "member.added";
pub const MEMBER_REMOVED: &str = "member.removed";
pub const MEMBER_ROLES_CHANGED: &str = "member.roles_changed";
pub const PERSON_UPDATED: &str = "person.updated";
pub const PERSON_ERASED: &str = "person.erased";
pub const INVITATION_ACCEPTED: &str = "invitation.accepted";
pub const CLIENT_CHANGED: &str = "client.changed";

/// A change that endpoints may hear of.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A person became a member (after the membership is written).
    MemberAdded { org_id: &'a str, user_id: &'a str },
    /// A member is being removed (before the membership is deleted: the body shows the
    /// member as they were).
    MemberRemoved { org_id: &'a str, user_id: &'a str },
    /// A member's roles changed (after); `previous` are the roles before.
    RolesChanged {
        org_id: &'a str,
        user_id: &'a str,
        previous: &'a [String],
    },
    /// A person's name, email or phone changed (after): told to each of their
    /// organisations. `changed` names the fields.
    PersonUpdated {
        user_id: &'a str,
        changed: &'a [&'a str],
    },
    /// A person accepted an invitation (after the membership is written).
    InvitationAccepted {
        org_id: &'a str,
        user_id: &'a str,
        invitation_id: &'a str,
    },
    /// A client was created, changed, had its secret replaced or was deleted (`change`):
    /// told to its organisation (an installation client: to installation endpoints only).
    ClientChanged { client: &'a Client, change: &'a str },
}

impl Event<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Event::MemberAdded { .. } => MEMBER_ADDED,
            Event::MemberRemoved { .. } => MEMBER_REMOVED,
            Event::RolesChanged { .. } => MEMBER_ROLES_CHANGED,
            Event::PersonUpdated { .. } => PERSON_UPDATED,
            Event::InvitationAccepted { .. } => INVITATION_ACCEPTED,
            Event::ClientChanged { .. } => CLIENT_CHANGED,
        }
    }
}

/// Queues `event` for every endpoint that listens, inside `tx`; returns how many messages
/// were queued (after the commit, [`wake`] the delivery loop with it).
#[tracing::instrument(skip_all, fields(event = event.kind()))]
pub async fn emit(tx: &mut Tx<'_>, state: &AppState, event: Event<'_>) -> Result<usize> {
    let kind = event.kind();
    let (orgs, subject): (Vec<Option<String>>, &str) = match event {
        Event::MemberAdded { org_id, user_id }
        | Event::MemberRemoved { org_id, user_id }
        | Event::RolesChanged {
            org_id, user_id, ..
        }
        | Event::InvitationAccepted {
            org_id, user_id, ..
        } => (vec![Some(org_id.to_string())], user_id),
        Event::PersonUpdated { user_id, .. } => (
            store::orgs::memberships_in(tx, user_id)
                .await?
                .into_iter()
                .map(Some)
                .collect(),
            user_id,
        ),
        Event::ClientChanged { client, .. } => {
            (vec![client.owner_organisation_id.clone()], &client.id)
        }
    };
    let mut queued = 0;
    for org_id in orgs {
        let endpoints = listeners(tx, org_id.as_deref(), kind).await?;
        if endpoints.is_empty() {
            continue;
        }
        let Some(data) = data(tx, org_id.as_deref(), &event).await? else {
            continue;
        };
        for endpoint in &endpoints {
            let q = prepare(state, endpoint, kind, subject, &data);
            store::webhooks::queue(&mut *tx, &q, state.now()).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The `person.erased` messages owed to the organisations a person belongs to, made before
/// the erasure (whose transaction queues them, `store::erasure`): the body names only the
/// organisation and the person's id.
pub async fn erased(state: &AppState, user_id: &str) -> Result<Vec<Queued>> {
    let mut out = Vec::new();
    let mut tx = state.db.begin().await?;
    for org_id in store::orgs::memberships_in(&mut tx, user_id).await? {
        let endpoints = listeners(&mut tx, Some(&org_id), PERSON_ERASED).await?;
        if endpoints.is_empty() {
            continue;
        }
        let Some(org) = store::orgs::find_by_id_or_slug_in(&mut tx, &org_id).await? else {
            continue;
        };
        let data = json!({ "organisation": org_view(&org), "user_id": user_id });
        for endpoint in &endpoints {
            out.push(prepare(state, endpoint, PERSON_ERASED, user_id, &data));
        }
    }
    tx.rollback().await?;
    Ok(out)
}

/// Wakes this node's delivery loop when something was queued (call after the commit).
pub fn wake(state: &AppState, queued: usize) {
    if queued > 0 {
        state.mailer.wake();
    }
}

/// The enabled endpoints of `org_id` (and the installation's) that subscribed to `kind`.
async fn listeners(tx: &mut Tx<'_>, org_id: Option<&str>, kind: &str) -> Result<Vec<EndpointRow>> {
    let all = store::webhooks::listening(tx, org_id).await?;
    Ok(all
        .into_iter()
        .filter(|e| subscribed(&e.events, kind))
        .collect())
}

/// Whether an endpoint's `events` (a JSON list; empty: all) include `kind`.
pub fn subscribed(events: &str, kind: &str) -> bool {
    let list: Vec<String> = serde_json::from_str(events).unwrap_or_default();
    list.is_empty() || list.iter().any(|e| e == kind)
}

/// The event's `data` as the organisation sees it; `None` when there is nothing to tell (the
/// member is gone already).
async fn data(tx: &mut Tx<'_>, org_id: Option<&str>, event: &Event<'_>) -> Result<Option<Value>> {
    let org = match org_id {
        Some(id) => match store::orgs::find_by_id_or_slug_in(tx, id).await? {
            Some(org) => Some(org_view(&org)),
            None => return Ok(None),
        },
        None => None,
    };
    let data = match *event {
        Event::MemberAdded { user_id, .. } | Event::MemberRemoved { user_id, .. } => {
            let Some(m) = member(tx, org_id, user_id).await? else {
                return Ok(None);
            };
            json!({ "organisation": org, "member": m })
        }
        Event::RolesChanged {
            user_id, previous, ..
        } => {
            let Some(m) = member(tx, org_id, user_id).await? else {
                return Ok(None);
            };
            json!({ "organisation": org, "member": m, "previous_roles": previous })
        }
        Event::PersonUpdated { user_id, changed } => {
            let Some(m) = member(tx, org_id, user_id).await? else {
                return Ok(None);
            };
            json!({ "organisation": org, "member": m, "changed": changed })
        }
        Event::InvitationAccepted {
            user_id,
            invitation_id,
            ..
        } => {
            let Some(m) = member(tx, org_id, user_id).await? else {
                return Ok(None);
            };
            json!({ "organisation": org, "member": m, "invitation_id": invitation_id })
        }
        Event::ClientChanged { client, change } => {
            json!({ "organisation": org, "client": ClientView::from(client.clone()), "change": change })
        }
    };
    Ok(Some(data))
}

/// The member as their organisation sees them, read inside `tx`.
async fn member(
    tx: &mut Tx<'_>,
    org_id: Option<&str>,
    user_id: &str,
) -> Result<Option<MemberView>> {
    let row = store::orgs::member_in(tx, org_id.unwrap_or(""), user_id).await?;
    Ok(row.map(MemberView::from))
}

fn org_view(org: &store::orgs::Organisation) -> Value {
    json!({ "id": org.id, "slug": org.slug, "name": org.name })
}

/// One message for one endpoint: the body sealed under the message's id.
fn prepare(
    state: &AppState,
    endpoint: &EndpointRow,
    kind: &str,
    subject: &str,
    data: &Value,
) -> Queued {
    let id = format!("msg_{}", random_id());
    let timestamp = crate::clock::instant(state.now()).to_string();
    let body = json!({ "type": kind, "timestamp": timestamp, "data": data });
    let payload = state
        .keys
        .seal_data(body.to_string().as_bytes(), &seal_context(&id));
    Queued {
        id,
        endpoint_id: endpoint.id.clone(),
        event_type: kind.to_string(),
        subject: subject.to_string(),
        ordinal: next_ordinal(),
        payload,
    }
}

/// The sealing context of a message body.
pub fn seal_context(id: &str) -> String {
    format!("webhook:{id}")
}

/// Creation order across this process (microseconds since the epoch, strictly increasing):
/// an endpoint gets one subject's events in this order. Nodes order by their clocks.
fn next_ordinal() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_subscribes_to_everything() {
        assert!(subscribed("[]", MEMBER_ADDED));
        assert!(subscribed(r#"["member.added"]"#, MEMBER_ADDED));
        assert!(!subscribed(r#"["member.removed"]"#, MEMBER_ADDED));
    }

    #[test]
    fn ordinals_increase() {
        let a = next_ordinal();
        let b = next_ordinal();
        assert!(b > a);
    }
}
