//! The member import pages: upload a CSV file, check it (what each row would do, nothing
//! changed), import it (in the background, `crate::admin::imports`), and follow the
//! import's progress. The upload is `multipart/form-data`, so its CSRF token is read from
//! the multipart fields and checked before anything else.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path};
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::AdminError;
use crate::admin::imports::{self, ImportView};
use crate::admin::orgs::OrgView;
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::scim::import::{Line, Outcome, Summary};
use crate::state::AppState;

use super::at_org::AtOrg;
use super::context::{Admin, Shown, Stop};
use super::org_path;
use super::view::{Chrome, Notice, datetime, page};

/// Most rows of a check shown on the page (the counts cover all).
const SHOWN_ROWS: usize = 500;

/// One row of a check.
pub struct PlanLine {
    pub line: usize,
    pub email: String,
    /// Catalog key of the outcome.
    pub outcome: &'static str,
    pub reason: String,
}

/// A check's result.
pub struct PlanView {
    pub summary: Summary,
    pub lines: Vec<PlanLine>,
    /// Rows not shown.
    pub more: usize,
}

/// One import in the list.
pub struct ImportLine {
    pub id: String,
    pub file_name: String,
    /// Catalog key of the state.
    pub state: &'static str,
    pub done: i64,
    pub total: i64,
    pub started: String,
}

/// The upload form, a check's result and the recent imports.
#[derive(Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub plan: Option<PlanView>,
    pub imports: Vec<ImportLine>,
}

/// One import's progress and result.
#[derive(Template)]
#[template(path = "admin/import_job.html")]
pub struct ImportJobPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub file_name: String,
    pub state: &'static str,
    pub running: bool,
    pub done: i64,
    pub total: i64,
    pub started: String,
    pub summary: Summary,
    pub refused: Vec<(usize, String)>,
}

fn state_key(state: &str) -> &'static str {
    match state {
        "running" => "admin.import.state_running",
        "done" => "admin.import.state_done",
        "interrupted" => "admin.import.state_interrupted",
        _ => "admin.import.state_failed",
    }
}

fn plan_view(lines: Vec<Line>) -> PlanView {
    let summary = Summary::of(&lines);
    let interesting: Vec<Line> = lines
        .into_iter()
        .filter(|l| l.outcome != Outcome::Unchanged)
        .collect();
    let more = interesting.len().saturating_sub(SHOWN_ROWS);
    let lines = interesting
        .into_iter()
        .take(SHOWN_ROWS)
        .map(|l| {
            let (outcome, reason) = match l.outcome {
                Outcome::Invite => ("admin.import.outcome_invite", String::new()),
                Outcome::Link => ("admin.import.outcome_link", String::new()),
                Outcome::Update => ("admin.import.outcome_update", String::new()),
                Outcome::Unchanged => ("admin.import.outcome_unchanged", String::new()),
                Outcome::Refused(why) => ("admin.import.outcome_refused", why),
            };
            PlanLine {
                line: l.line,
                email: l.email,
                outcome,
                reason,
            }
        })
        .collect();
    PlanView {
        summary,
        lines,
        more,
    }
}

async fn import_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    plan: Option<PlanView>,
    shown: Shown,
) -> Result<Response, Stop> {
    let recent = imports::recent(state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?;
    let imports = recent
        .into_iter()
        .map(|i: ImportView| ImportLine {
            state: state_key(i.state),
            started: datetime(&admin.time_zone, i.created_at),
            id: i.id,
            file_name: i.file_name,
            done: i.done,
            total: i.total,
        })
        .collect();
    Ok(page(
        shown.status,
        &ImportPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "invite").with(shown.notice),
            base: org_path(org),
            plan,
            imports,
        },
    ))
}

/// `GET /admin/orgs/{org}/import`.
pub async fn get_import(AtOrg { state, admin, org }: AtOrg) -> Result<Response, Stop> {
    import_page(&state, &admin, &org, None, Shown::plain()).await
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    action: String,
    file_name: String,
    file: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> Option<Upload> {
    let mut upload = Upload::default();
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name().unwrap_or_default() {
            "csrf" => upload.csrf = field.text().await.ok()?,
            "action" => upload.action = field.text().await.ok()?,
            "file" => {
                upload.file_name = field.file_name().unwrap_or("members.csv").to_string();
                upload.file = field.bytes().await.ok()?.to_vec();
            }
            _ => {}
        }
    }
    Some(upload)
}

/// `POST /admin/orgs/{org}/import` (`multipart/form-data`: `csrf`, `file`, and `action`
/// `check` or `import`).
pub async fn post_import(
    AtOrg { state, admin, org }: AtOrg,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Stop> {
    let upload = match multipart {
        Ok(m) => read_upload(m).await,
        Err(_) => None,
    };
    // No readable upload (or no token in it) is a forged or broken form: the CSRF refusal.
    let upload = upload.unwrap_or_default();
    admin.check_csrf(&upload.csrf)?;
    if upload.file.is_empty() {
        let shown = Shown {
            status: StatusCode::BAD_REQUEST,
            notice: Some(Notice {
                error: true,
                text: admin.texts.t("admin.import.no_file").to_string(),
                lang: None,
            }),
        };
        return import_page(&state, &admin, &org, None, shown).await;
    }
    let result = if upload.action == "import" {
        imports::start(
            &state,
            &admin.caller,
            &org.id,
            &upload.file_name,
            &upload.file,
        )
        .await
        .map(Err)
    } else {
        imports::check(&state, &admin.caller, &org.id, &upload.file)
            .await
            .map(Ok)
    };
    match result {
        Ok(Err(id)) => Ok(see_other(&format!("{}/import/{id}", org_path(&org)))),
        Ok(Ok(lines)) => {
            import_page(&state, &admin, &org, Some(plan_view(lines)), Shown::plain()).await
        }
        Err(e) => {
            let shown = admin.refused(e)?;
            import_page(&state, &admin, &org, None, shown).await
        }
    }
}

/// `GET /admin/orgs/{org}/import/{id}`: the import's progress (the page reloads itself while
/// it runs) and its result.
pub async fn get_job(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let job = imports::get(&state, &admin.caller, &org.id, &id)
        .await
        .map_err(|e: AdminError| admin.fail(e))?;
    Ok(page(
        StatusCode::OK,
        &ImportJobPage {
            t: admin.texts,
            chrome: admin.org_chrome(&org, "invite"),
            base: org_path(&org),
            state: state_key(job.state),
            running: job.state == "running",
            done: job.done,
            total: job.total,
            started: datetime(&admin.time_zone, job.created_at),
            summary: job.summary,
            refused: job.refused,
            file_name: job.file_name,
        },
    ))
}
