//! Reading the audit log: an organisation's admins see the events of their organisation,
//! superadmins see everything. Exported as JSON lines (one event per line).

use serde::Serialize;

use crate::admin::{AdminError, Caller, load_org};
use crate::orgs::permissions::Action;
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, audit::Filter};

/// An event as the admin surface shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    pub id: String,
    /// Unix seconds (UTC).
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub at: i64,
    pub kind: String,
    /// Who did it: a person's id, `client:<id>` or `cli`.
    #[schema(required = true)]
    pub actor_id: Option<String>,
    /// The person it is about.
    #[schema(required = true)]
    pub user_id: Option<String>,
    #[schema(required = true)]
    pub client_id: Option<String>,
    #[schema(required = true)]
    pub organisation_id: Option<String>,
    #[schema(required = true)]
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

impl From<store::audit::Row> for EventView {
    fn from(r: store::audit::Row) -> Self {
        EventView {
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            id: r.id,
            at: r.at,
            kind: r.kind,
            actor_id: r.actor_id,
            user_id: r.user_id,
            client_id: r.client_id,
            organisation_id: r.organisation_id,
            ip: r.ip,
        }
    }
}

/// What to read: one organisation's events (`org`), or everything (superadmin, `None`).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub org: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub since: Option<i64>,
}

/// Resolves the organisation and checks the caller.
async fn scope(state: &AppState, caller: &Caller, q: &Query) -> Result<Option<String>, AdminError> {
    match &q.org {
        Some(key) => {
            let org = load_org(state, key).await?;
            caller.check(Action::AuditRead, &org.id, "organisation")?;
            Ok(Some(org.id))
        }
        None => {
            caller.check_installation(Action::AuditReadAll)?;
            Ok(None)
        }
    }
}

/// The name (if any) and email of person `id` as the audit log of organisation `org` shows
/// them: a member of that organisation only (`None` for anyone else), or anyone for the
/// installation's log (`org` is `None`). The caller has been allowed to read that log.
#[tracing::instrument(skip_all)]
pub async fn person_named(
    state: &AppState,
    org: Option<&str>,
    id: &str,
) -> Result<Option<(Option<String>, String)>, sqlx::Error> {
    Ok(match org {
        Some(org) => store::orgs::member(&state.db, org, id)
            .await?
            .map(|m| (m.name, m.email)),
        None => store::users::find(&state.db, id)
            .await?
            .map(|u| (u.name, u.email)),
    })
}

/// The name of organisation `id` (an id or slug), for the audit log's lines.
#[tracing::instrument(skip_all)]
pub async fn org_named(state: &AppState, id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(store::orgs::find_by_id_or_slug(&state.db, id)
        .await?
        .map(|o| o.name))
}

/// Events newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    q: &Query,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<EventView>, AdminError> {
    let org = scope(state, caller, q).await?;
    let limit = page::limit(limit);
    let before = super::cursor::timed(cursor)?;
    let filter = Filter {
        organisation_id: org.as_deref(),
        user_id: q.user_id.as_deref(),
        kind: q.kind.as_deref(),
        since: q.since,
    };
    let rows = store::audit::list(
        &state.db,
        &filter,
        before.as_ref().map(|(a, i)| (*a, i.as_str())),
        limit,
    )
    .await?;
    let page = page::finish(rows, limit, |r| {
        page::encode_cursor(&[&r.at.to_string(), &r.id])
    });
    Ok(Page {
        items: page.items.into_iter().map(EventView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Every matching event as JSON lines, newest first, read page by page.
#[tracing::instrument(skip_all)]
pub async fn export(state: &AppState, caller: &Caller, q: &Query) -> Result<String, AdminError> {
    let mut out = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = list(state, caller, q, cursor.as_deref(), Some(page::MAX_LIMIT)).await?;
        for e in &page.items {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
