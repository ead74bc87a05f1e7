//! The consent page and the organisation picker, and their form posts: `POST /consent`
//! (`decision=allow|deny`) and `POST /select-org` (`org`). Both forms carry the pending
//! request's id and CSRF token and only work in the browser that started the request.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::http::authorize::{load_pending, proceed, see_other, signed};
use crate::http::error::PageError;
use crate::http::extract::texts_for;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::oidc::authorize::{self, ErrorRedirect, Signed, parse_pairs, scope_text_key};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::pending::{self, Pending};
use crate::orgs::reach::AdminAuthority;
use crate::state::AppState;
use crate::store::clients::Client;

/// The consent page.
#[derive(Template)]
#[template(path = "pages/consent.html")]
pub struct ConsentPage {
    pub t: Texts,
    pub client_name: String,
    /// The signed-in person's email, so they see which account they are using.
    pub email: Option<String>,
    /// Each scope: the catalog key describing it, and the names it concerns (for `admin`:
    /// the organisations the person would administer through the app).
    pub scopes: Vec<(&'static str, Vec<String>)>,
    pub org_name: Option<String>,
    pub org_id: Option<String>,
    pub req: String,
    pub csrf: String,
}

/// A line of the consent page for `scope`: its catalog key and the names it concerns. The
/// `admin` scope names exactly what the token would let the app do: the organisations the
/// person administers within the app's reach, or the whole installation (a superadmin
/// through the installation's own console).
pub fn scope_line(scope: &str, admin: Option<&AdminAuthority>) -> (&'static str, Vec<String>) {
    match (scope, admin) {
        ("admin", Some(a)) if a.installation => ("consent.scope_admin_installation", Vec::new()),
        ("admin", Some(a)) => (
            "consent.scope_admin_orgs",
            a.organisations.iter().map(|m| m.name.clone()).collect(),
        ),
        _ => (scope_text_key(scope), Vec::new()),
    }
}

/// One organisation on the picker.
pub struct OrgChoice {
    pub id: String,
    pub name: String,
}

/// The organisation picker.
#[derive(Template)]
#[template(path = "pages/select_org.html")]
pub struct SelectOrgPage {
    pub t: Texts,
    pub client_name: String,
    pub orgs: Vec<OrgChoice>,
    pub req: String,
    pub csrf: String,
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/consent", post(post_consent))
        .route("/select-org", post(post_select_org))
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses a form that continues a pending request and loads that request for this browser,
/// checking its CSRF token (a missing token is a wrong token).
async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<(String, String)>, Pending, Client, Texts), Response> {
    let pairs = parse_pairs(&String::from_utf8_lossy(body));
    let texts = texts_for(headers, None);
    let Some(req) = field(&pairs, "req") else {
        return Err(PageError::bad_request("error.bad_request", texts).into_response());
    };
    let csrf = field(&pairs, "csrf").unwrap_or("");
    let (pending, client, texts) = load_pending(state, headers, req, Some(csrf), texts).await?;
    Ok((pairs, pending, client, texts))
}

/// `POST /consent`: allow or deny the pending request.
async fn post_consent(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (pairs, pending, client, texts) = match read_form(&state, &headers, &body).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let org = field(&pairs, "org");
    // Without a (fresh enough) login, neither answer counts: log in first (RFC 9700 4.11.2).
    let logged_in = session
        .as_ref()
        .filter(|s| !pending.params.force_login || s.auth_time >= pending.created_at);
    let Some(person) = logged_in else {
        let why = Signed::Out("no login fresh enough for a consent answer");
        return proceed(&state, texts, &client, &pending, why, org, false).await;
    };
    match field(&pairs, "decision") {
        Some("allow") => {
            let now = state.now();
            let remembered = match authorize::grantable_scope(
                &state.db,
                &client,
                &person.user_id,
                &pending.params.scope,
            )
            .await
            {
                Ok((scope, _)) => {
                    authorize::remember_consent(&state.db, &person.user_id, &client.id, &scope, now)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = remembered {
                return PageError::from_internal(e, texts).into_response();
            }
            proceed(
                &state,
                texts,
                &client,
                &pending,
                Signed::In(person),
                org,
                true,
            )
            .await
        }
        Some("deny") => {
            match pending::finish(&state.db, &pending.id).await {
                Ok(true) => {}
                Ok(false) => {
                    return PageError::bad_request("error.request_used", texts).into_response();
                }
                Err(e) => return PageError::from_internal(e, texts).into_response(),
            }
            tracing::info!(client = %client.id, "consent denied");
            let e = ErrorRedirect::for_params(
                &pending.params,
                OAuthError::new(ErrorCode::AccessDenied, "the person denied the request"),
            );
            see_other(&e.location(&state.issuer))
        }
        _ => PageError::new(StatusCode::BAD_REQUEST, "error.bad_request", texts).into_response(),
    }
}

/// `POST /select-org`: the organisation chosen on the picker.
async fn post_select_org(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (pairs, pending, client, texts) = match read_form(&state, &headers, &body).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let org = field(&pairs, "org");
    proceed(
        &state,
        texts,
        &client,
        &pending,
        signed(&headers, session.as_ref()),
        org,
        false,
    )
    .await
}
