//! The audit log: an organisation's events for its admins (`/admin/orgs/{org}/audit`), the
//! whole installation's for the superadmin (`/admin/audit`); newest first, filtered by
//! kind, paginated, and exported as JSON lines.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::admin::audit::{self, EventView, Query};
use crate::i18n::Texts;
use crate::state::AppState;

use super::at_org::AtOrg;
use super::context::{Admin, Fields, Stop};
use super::org_path;
use super::view::{Chrome, Pager, datetime, link, page};

/// Kinds offered in the filter (others still show in the list and can be asked for).
const KINDS: &[&str] = &[
    "admin.invitation_created",
    "admin.invitation_accepted",
    "admin.invitation_revoked",
    "admin.roles_changed",
    "admin.member_added",
    "admin.member_removed",
    "admin.reset_sent",
    "admin.session_ended",
    "admin.role_saved",
    "admin.role_deleted",
    "admin.client_created",
    "admin.client_updated",
    "admin.client_secret_rotated",
    "admin.client_deleted",
    "admin.webhook_created",
    "admin.webhook_updated",
    "admin.webhook_secret_rotated",
    "admin.webhook_deleted",
    "admin.webhook_redelivered",
    "admin.org_created",
    "admin.org_updated",
    "admin.org_deleted",
    "admin.password_set",
    "admin.superadmin_granted",
    "admin.superadmin_revoked",
    "admin.setup_link",
    "admin.setup",
    "reset.key_sent",
    "password.reset",
    "password.changed",
    "login.success",
    "login.failure",
    "login.throttled",
    "logout",
    "refresh_token_reused",
    "code_reused",
    "keys.rotated",
];

/// One event as a row.
pub struct EventLine {
    pub when: String,
    pub kind: String,
    /// The kind in words, when the catalog has them.
    pub label: Option<String>,
    pub actor: String,
    pub subject: String,
    pub org: String,
    pub ip: String,
    pub details: Vec<(String, String)>,
}

/// One choice of the kind filter.
pub struct KindChoice {
    pub kind: String,
    pub label: String,
    pub selected: bool,
}

/// The audit log page.
#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub t: Texts,
    pub chrome: Chrome,
    /// Where the filter form goes.
    pub path: String,
    pub export: String,
    /// Whether this is the whole installation's log (shows the organisation column).
    pub installation: bool,
    pub kinds: Vec<KindChoice>,
    pub events: Vec<EventLine>,
    pub pager: Pager,
}

/// `GET /admin/orgs/{org}/audit?kind=&cursor=`.
pub async fn get_org(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let path = format!("{}/audit", org_path(&org));
    let chrome = admin.org_chrome(&org, "audit");
    show(&state, &admin, chrome, Some(org.id), path, raw).await
}

/// `GET /admin/audit?kind=&cursor=` (superadmin).
pub async fn get_installation(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let chrome = admin.chrome(None, "");
    show(&state, &admin, chrome, None, "/admin/audit".into(), raw).await
}

async fn show(
    state: &AppState,
    admin: &Admin,
    chrome: Chrome,
    org: Option<String>,
    path: String,
    raw: Option<String>,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let kind = q.some("kind");
    let cursor = q.some("cursor");
    let query = Query {
        org: org.clone(),
        kind: kind.map(str::to_string),
        ..Default::default()
    };
    let list = audit::list(state, &admin.caller, &query, cursor, None)
        .await
        .map_err(|e| admin.fail(e))?;
    let t = admin.texts;
    let mut names = Names::new(org.clone());
    let mut events = Vec::with_capacity(list.items.len());
    for e in list.items {
        events.push(
            names
                .line(state, t, e)
                .await
                .map_err(|e| admin.fail(e.into()))?,
        );
    }
    let mut kinds: Vec<KindChoice> = KINDS
        .iter()
        .map(|k| KindChoice {
            kind: k.to_string(),
            label: kind_label(t, k).unwrap_or_else(|| k.to_string()),
            selected: Some(*k) == kind,
        })
        .collect();
    if let Some(k) = kind.filter(|k| !KINDS.contains(k)) {
        kinds.push(KindChoice {
            kind: k.to_string(),
            label: k.to_string(),
            selected: true,
        });
    }
    let pager = Pager::new(
        &path,
        &[("kind", kind)],
        cursor,
        list.next_cursor.as_deref(),
    );
    Ok(page(
        StatusCode::OK,
        &AuditPage {
            t,
            chrome,
            export: link(&format!("{path}/export"), &[("kind", kind)]),
            installation: org.is_none(),
            path,
            kinds,
            events,
            pager,
        },
    ))
}

/// The words for an event kind, if the catalog has them.
fn kind_label(t: Texts, kind: &str) -> Option<String> {
    let key = format!("admin.kind.{}", kind.replace('.', "_"));
    let text = t.t(&key);
    (text != key).then(|| text.to_string())
}

/// Names people, clients and organisations in the log, once each per page. In an
/// organisation's log a person is named only while a member there (the organisation sees
/// nothing else of them); otherwise the id is shown.
struct Names {
    org: Option<String>,
    people: HashMap<String, String>,
    orgs: HashMap<String, String>,
}

impl Names {
    fn new(org: Option<String>) -> Names {
        Names {
            org,
            people: HashMap::new(),
            orgs: HashMap::new(),
        }
    }

    async fn person(&mut self, state: &AppState, id: &str) -> Result<String, sqlx::Error> {
        if let Some(n) = self.people.get(id) {
            return Ok(n.clone());
        }
        let found = crate::admin::audit::person_named(state, self.org.as_deref(), id).await?;
        let name = match found {
            Some((Some(name), email)) => format!("{name} <{email}>"),
            Some((None, email)) => email,
            None => id.to_string(),
        };
        self.people.insert(id.to_string(), name.clone());
        Ok(name)
    }

    async fn actor(
        &mut self,
        state: &AppState,
        t: Texts,
        id: Option<&str>,
    ) -> Result<String, sqlx::Error> {
        Ok(match id {
            None => String::new(),
            Some("cli") => t.t("admin.audit.cli").to_string(),
            Some(a) => match a.strip_prefix("client:") {
                Some(client) => format!("{} {client}", t.t("admin.audit.client")),
                None => self.person(state, a).await?,
            },
        })
    }

    async fn org_name(
        &mut self,
        state: &AppState,
        id: Option<&str>,
    ) -> Result<String, sqlx::Error> {
        let Some(id) = id else {
            return Ok(String::new());
        };
        if let Some(n) = self.orgs.get(id) {
            return Ok(n.clone());
        }
        let name = crate::admin::audit::org_named(state, id)
            .await?
            .unwrap_or_else(|| id.to_string());
        self.orgs.insert(id.to_string(), name.clone());
        Ok(name)
    }

    async fn line(
        &mut self,
        state: &AppState,
        t: Texts,
        e: EventView,
    ) -> Result<EventLine, sqlx::Error> {
        let subject = match e.user_id.as_deref() {
            Some(u) => self.person(state, u).await?,
            None => String::new(),
        };
        let org = if self.org.is_none() {
            self.org_name(state, e.organisation_id.as_deref()).await?
        } else {
            String::new()
        };
        let mut details = details(&e.detail);
        if let Some(c) = &e.client_id {
            details.insert(0, ("client".into(), c.clone()));
        }
        Ok(EventLine {
            when: datetime(&state.time_zone, e.at),
            label: kind_label(t, &e.kind),
            actor: self.actor(state, t, e.actor_id.as_deref()).await?,
            subject,
            org,
            ip: e.ip.unwrap_or_default(),
            details,
            kind: e.kind,
        })
    }
}

/// An event's detail as `name: value` pairs (lists joined by commas).
fn details(detail: &serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match detail {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Value::Null => Vec::new(),
        other => vec![(String::new(), text(other))],
    }
}

/// `GET /admin/orgs/{org}/audit/export?kind=`: JSON lines.
pub async fn get_org_export(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let name = format!("nyckel-audit-{}.jsonl", org.slug);
    export(&state, &admin, Some(org.id), &name, raw).await
}

/// `GET /admin/audit/export?kind=` (superadmin).
pub async fn get_installation_export(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    export(&state, &admin, None, "nyckel-audit.jsonl", raw).await
}

async fn export(
    state: &AppState,
    admin: &Admin,
    org: Option<String>,
    filename: &str,
    raw: Option<String>,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let query = Query {
        org,
        kind: q.some("kind").map(str::to_string),
        ..Default::default()
    };
    let body = audit::export(state, &admin.caller, &query)
        .await
        .map_err(|e| admin.fail(e))?;
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson; charset=utf-8"),
    );
    // The file name is made of a slug (a-z, 0-9, -): always valid header text.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
