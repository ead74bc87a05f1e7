//! Member imports from the admin UI: an organisation's admin checks a CSV file (the dry run,
//! `crate::scim::import::plan`) and starts the import, which runs in the background on the
//! node that took the file (`crate::scim::import::run`, paced) while its progress is kept in
//! `member_imports` for any node to show. Importing needs both `InvitationCreate` and
//! `MemberUpdateRoles`: rows invite people and give present members roles.

use serde_json::json;

use crate::admin::{AdminError, Caller, load_org, record};
use crate::crypto::random_id;
use crate::orgs::permissions::Action;
use crate::scim::Scim;
use crate::scim::error::ScimError;
use crate::scim::import::{self, Line, Outcome, Summary};
use crate::state::AppState;
use crate::store::imports::ImportRow;
use crate::store::orgs::Organisation;

/// Seconds without progress after which a running import counts as interrupted.
pub const STALE_AFTER: i64 = 60;

impl From<ScimError> for AdminError {
    fn from(e: ScimError) -> Self {
        let detail = e.detail.clone().unwrap_or_default();
        match e.status() {
            401 => AdminError::Unauthenticated,
            403 => AdminError::Forbidden(detail),
            404 => AdminError::NotFound(detail),
            409 | 412 => AdminError::Conflict(detail),
            400..=499 => AdminError::Invalid(detail),
            _ => AdminError::Internal(crate::error::Error::Scim(e)),
        }
    }
}

async fn org_for_import(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
) -> Result<Organisation, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationCreate, &org.id, "organisation")?;
    caller.check(Action::MemberUpdateRoles, &org.id, "organisation")?;
    crate::upgrade::require_finished(&state.db, crate::upgrade::SCIM)
        .await
        .map_err(|e| AdminError::Conflict(e.to_string()))?;
    Ok(org)
}

fn rows_of(bytes: &[u8]) -> Result<Vec<import::Row>, AdminError> {
    import::parse(bytes).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// The dry run: what each row of the file would do.
#[tracing::instrument(skip_all)]
pub async fn check(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    bytes: &[u8],
) -> Result<Vec<Line>, AdminError> {
    let org = org_for_import(state, caller, org_key).await?;
    let rows = rows_of(bytes)?;
    let s = Scim::new(state, caller.clone(), org);
    Ok(import::plan(&s, &rows).await?)
}

/// An import as the UI shows it.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub id: String,
    pub file_name: String,
    /// `running`, `done`, `failed`, or `interrupted` (running, but no progress for
    /// [`STALE_AFTER`] seconds: its node stopped).
    pub state: &'static str,
    pub total: i64,
    pub done: i64,
    pub summary: Summary,
    /// `(line, reason)` of the refused rows.
    pub refused: Vec<(usize, String)>,
    pub created_at: i64,
}

impl ImportView {
    fn new(r: ImportRow, now: i64) -> ImportView {
        let state = match r.state.as_str() {
            "running" if r.updated_at + STALE_AFTER < now => "interrupted",
            "running" => "running",
            "done" => "done",
            _ => "failed",
        };
        let refused = serde_json::from_str::<Vec<(usize, String)>>(&r.refused).unwrap_or_default();
        ImportView {
            summary: serde_json::from_str(&r.summary).unwrap_or_default(),
            id: r.id,
            file_name: r.file_name,
            state,
            total: r.total,
            done: r.done,
            refused,
            created_at: r.created_at,
        }
    }
}

/// Starts importing the file in the background; returns the import's id.
#[tracing::instrument(skip_all)]
pub async fn start(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    file_name: &str,
    bytes: &[u8],
) -> Result<String, AdminError> {
    let org = org_for_import(state, caller, org_key).await?;
    let rows = rows_of(bytes)?;
    let file_name = crate::admin::clean_text("file name", file_name, 200)
        .unwrap_or_else(|_| "members.csv".into());
    let now = state.now();
    let id = random_id();
    crate::store::imports::insert(
        &state.db,
        &ImportRow {
            id: id.clone(),
            organisation_id: org.id.clone(),
            file_name: file_name.clone(),
            state: "running".into(),
            total: rows.len() as i64,
            done: 0,
            summary: json!(Summary::default()).to_string(),
            refused: "[]".into(),
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    let mut tx = state.db.begin().await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.members_import_started",
        Some(&org.id),
        None,
        json!({ "import": id, "file": file_name, "rows": rows.len() }),
    )
    .await?;
    tx.commit().await?;
    let (state, caller, job) = (state.clone(), caller.clone(), id.clone());
    tokio::spawn(async move { background(state, caller, org, job, file_name, rows).await });
    Ok(id)
}

/// The import itself, on this node, recording progress every second.
async fn background(
    state: AppState,
    caller: Caller,
    org: Organisation,
    id: String,
    file_name: String,
    rows: Vec<import::Row>,
) {
    let s = Scim::new(&state, caller.clone(), org.clone());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ticker = {
        let (state, id, done) = (state.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let n = done.load(std::sync::atomic::Ordering::Relaxed) as i64;
                if let Err(e) =
                    crate::store::imports::progress(&state.db, &id, n, state.now()).await
                {
                    tracing::warn!(error = %crate::error::Chain(&e), "import progress not recorded");
                }
            }
        })
    };
    let result = import::run(&s, &rows, |n, _| {
        done.store(n, std::sync::atomic::Ordering::Relaxed);
    })
    .await;
    ticker.abort();
    let (state_name, lines) = match result {
        Ok(lines) => ("done", lines),
        Err(e) => {
            tracing::error!(error = %e, "member import stopped");
            ("failed", Vec::new())
        }
    };
    let summary = Summary::of(&lines);
    let refused: Vec<(usize, String)> = lines
        .iter()
        .filter_map(|l| match &l.outcome {
            Outcome::Refused(why) => Some((l.line, why.clone())),
            _ => None,
        })
        .take(1000)
        .collect();
    let n = done.load(std::sync::atomic::Ordering::Relaxed) as i64;
    let now = state.now();
    let finished = crate::store::imports::finish(
        &state.db,
        &id,
        state_name,
        n,
        &json!(summary).to_string(),
        &json!(refused).to_string(),
        now,
    )
    .await;
    if let Err(e) = finished {
        tracing::error!(error = %crate::error::Chain(&e), "member import end not recorded");
    }
    let audit = async {
        let mut tx = state.db.begin().await?;
        record(
            &mut tx,
            &caller,
            now,
            "admin.members_imported",
            Some(&org.id),
            None,
            json!({ "import": id, "file": file_name, "state": state_name, "summary": summary }),
        )
        .await?;
        tx.commit().await?;
        Ok::<(), AdminError>(())
    };
    if let Err(e) = audit.await {
        tracing::error!(error = %e, "member import not audited");
    }
}

/// One import of the organisation.
#[tracing::instrument(skip_all)]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    id: &str,
) -> Result<ImportView, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationCreate, &org.id, "organisation")?;
    let row = crate::store::imports::find(&state.db, &org.id, id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no import".into()))?;
    Ok(ImportView::new(row, state.now()))
}

/// The organisation's newest imports.
#[tracing::instrument(skip_all)]
pub async fn recent(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
) -> Result<Vec<ImportView>, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::InvitationCreate, &org.id, "organisation")?;
    let now = state.now();
    Ok(crate::store::imports::recent(&state.db, &org.id, 10)
        .await?
        .into_iter()
        .map(|r| ImportView::new(r, now))
        .collect())
}
