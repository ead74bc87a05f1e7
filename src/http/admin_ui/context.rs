//! What every admin page starts from: the signed-in person ([`Admin`], an extractor that
//! sends anonymous visitors to the login page), the submitted form with its CSRF check
//! ([`Fields`]), and the way a refused or failed use-case becomes a page ([`Admin::fail`],
//! [`Admin::refused`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::admin::orgs::OrgView;
use crate::admin::{AdminError, Caller, Principal};
use crate::http::authorize::see_other;
use crate::http::extract::{ClientIp, accept_language_locale};
use crate::http::page::render_status;
use crate::http::password_change;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::state::AppState;

use super::view::{Chrome, ErrorPage, Notice, done_notice};

/// A signed-in person on an admin page, with their authority as it is now (loaded fresh
/// for every request: a role taken away counts at once).
pub struct Admin {
    pub texts: Texts,
    pub caller: Caller,
    /// The session's CSRF token, repeated by every form.
    pub csrf: String,
    /// The person's email, shown in the page header.
    pub email: String,
    /// The time zone of the times the pages show (`time_zone`).
    pub time_zone: jiff::tz::TimeZone,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let texts = Texts::new(accept_language_locale(parts, None));
        let Ok(MaybeSession(session)) = MaybeSession::from_request_parts(parts, state).await;
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let Some(session) = session else {
            return Err(to_login(parts));
        };
        let principal = Principal::person(&state.db, &session.user_id)
            .await
            .map_err(|e| internal(texts, e))?;
        let email = match (
            &principal,
            crate::auth::own::account(state, &session.user_id).await,
        ) {
            // A password an administrator set is replaced before anything else.
            (Principal::Person { .. }, Ok(Some(u))) if u.must_change_password != 0 => {
                return Err(see_other(&password_change::change_location(&back(parts))));
            }
            (Principal::Person { .. }, Ok(Some(u))) => u.email,
            (_, Err(e)) => return Err(internal(texts, e)),
            _ => return Err(to_login(parts)),
        };
        // Someone two factors are required of (every administrator, by default) uses the
        // admin pages only in a two-factor session; an older session logs in again.
        if !crate::auth::factors::is_two_factor(&session)
            && crate::auth::factors::requirement(&state.db, &state.config, &session.user_id)
                .await
                .map_err(|e| internal(texts, e))?
                .required()
        {
            return Err(to_login(parts));
        }
        Ok(Admin {
            texts,
            caller: Caller {
                principal,
                ip: Some(ip.to_string()),
            },
            csrf: session.csrf,
            time_zone: state.time_zone.clone(),
            email,
        })
    }
}

/// Where to come back to after signing in: the same address for a GET, the start page
/// for a form post (its form is gone).
fn back(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or("/admin", |p| p.as_str())
            .to_string()
    } else {
        "/admin".to_string()
    }
}

/// 303 to the login page, which comes back here afterwards.
fn to_login(parts: &Parts) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(back(parts).as_bytes()).collect();
    see_other(&format!("/login?next={next}"))
}

fn internal(texts: Texts, e: impl std::fmt::Display + 'static) -> Response {
    crate::http::error::PageError::from_internal(e, texts).into_response()
}

impl Admin {
    /// The page frame for this person; `org` is the organisation whose tabs are shown.
    pub fn chrome(&self, org: Option<(&str, &str)>, tab: &'static str) -> Chrome {
        let switch = match &self.caller.principal {
            Principal::Person {
                superadmin,
                admin_of,
                ..
            } => *superadmin || admin_of.len() > 1,
            _ => false,
        };
        Chrome {
            email: self.email.clone(),
            csrf: self.csrf.clone(),
            superadmin: self.caller.principal.is_superadmin(),
            switch,
            org: org.map(|(slug, name)| (slug.to_string(), name.to_string())),
            tab,
            notice: None,
        }
    }

    /// The page frame with `org`'s tabs, `tab` the current one.
    pub fn org_chrome(&self, org: &OrgView, tab: &'static str) -> Chrome {
        self.chrome(Some((&org.slug, &org.name)), tab)
    }

    /// A page shown as asked for: 200, with the status message named by `?done=` in `q`.
    pub fn done(&self, q: &Fields) -> Shown {
        Shown {
            status: StatusCode::OK,
            notice: done_notice(self.texts, q.one("done")),
        }
    }

    /// A refusal the person can fix (400, 409) becomes what the form's page shows: the
    /// status and the reason. Any other failure ends the handler with its page
    /// ([`Admin::fail`]).
    pub fn refused(&self, e: AdminError) -> Result<Shown, Stop> {
        if is_form_error(&e) {
            Ok(Shown {
                status: status_of(&e),
                notice: Some(Notice::from_error(self.texts, &e)),
            })
        } else {
            Err(self.fail(e))
        }
    }

    /// Parses a posted form and checks its CSRF token against the session's; a missing or
    /// wrong token is answered with 403 and nothing is done.
    pub fn form(&self, body: &[u8]) -> Result<Fields, Stop> {
        let fields = Fields::parse(body);
        self.check_csrf(fields.one("csrf").unwrap_or_default())?;
        Ok(fields)
    }

    /// Checks the CSRF token of a form that is not URL-encoded (a file upload): 403 when it
    /// is missing or wrong.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Stop> {
        if !crate::http::csrf::matches(&self.csrf, sent) {
            tracing::warn!("admin form with a missing or wrong CSRF token");
            return Err(self.error_page(StatusCode::FORBIDDEN, self.texts.t("error.csrf")));
        }
        Ok(())
    }

    /// The response for a use-case that failed: the login page for an anonymous caller,
    /// 404 or 403 pages, a 400/409 page with the reason, or a logged 500.
    pub fn fail(&self, e: AdminError) -> Stop {
        let t = self.texts;
        match e {
            AdminError::Unauthenticated => see_other("/login?next=%2Fadmin").into(),
            AdminError::NotFound(_) => {
                self.error_page(StatusCode::NOT_FOUND, t.t("admin.error.not_found"))
            }
            AdminError::Forbidden(_) => {
                self.error_page(StatusCode::FORBIDDEN, t.t("admin.error.forbidden"))
            }
            AdminError::Invalid(_) | AdminError::Conflict(_) => {
                let status = status_of(&e);
                let notice = Notice::from_error(t, &e);
                self.error_page(status, &notice.text)
            }
            AdminError::Internal(e) => internal(t, e).into(),
        }
    }

    /// An error page in the admin frame.
    pub fn error_page(&self, status: StatusCode, message: &str) -> Stop {
        let page = ErrorPage {
            t: self.texts,
            chrome: self.chrome(None, ""),
            heading: self.texts.t(match status {
                StatusCode::NOT_FOUND => "admin.error.not_found_heading",
                StatusCode::FORBIDDEN => "admin.error.forbidden_heading",
                _ => "admin.error.heading",
            }),
            message: message.to_string(),
            admin_home: self
                .caller
                .principal
                .administered()
                .is_none_or(|orgs| !orgs.is_empty()),
        };
        render_status(status, &page).into()
    }
}

/// A response that ends a handler early: a refusal or error page, or the way to the login
/// page (boxed, since a `Response` is large to move around in a `Result`).
pub struct Stop(Box<Response>);

impl From<Response> for Stop {
    fn from(r: Response) -> Stop {
        Stop(Box::new(r))
    }
}

impl From<Stop> for Response {
    fn from(s: Stop) -> Response {
        *s.0
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// How a page is answered: its status and the message at the top.
pub struct Shown {
    pub status: StatusCode,
    pub notice: Option<Notice>,
}

impl Shown {
    /// 200 without a message.
    pub fn plain() -> Shown {
        Shown {
            status: StatusCode::OK,
            notice: None,
        }
    }
}

/// Whether the person can fix the failure by changing the form (shown on the form's page).
fn is_form_error(e: &AdminError) -> bool {
    matches!(e, AdminError::Invalid(_) | AdminError::Conflict(_))
}

/// 400 for bad input, 409 for a conflict with the current state.
fn status_of(e: &AdminError) -> StatusCode {
    match e {
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A posted form or a query string: name/value pairs in order, empty values kept
/// (checkboxes repeat a name, an emptied text field must read as empty).
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(raw: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses an optional query string.
    pub fn query(raw: Option<&str>) -> Fields {
        Fields::parse(raw.unwrap_or_default().as_bytes())
    }

    /// The first value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` unless empty.
    pub fn some(&self, name: &str) -> Option<&str> {
        self.one(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The first value of `name`, or "".
    pub fn text(&self, name: &str) -> String {
        self.one(name).unwrap_or_default().to_string()
    }

    /// Every non-empty value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.some(name).is_some()
    }

    /// The non-empty lines of a textarea.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.one(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_repeats_and_empties() {
        let f = Fields::parse(b"roles=a&roles=b&roles=&d=&uris=x%0D%0A%0D%0A+y+");
        assert_eq!(f.all("roles"), vec!["a", "b"]);
        assert_eq!(f.one("d"), Some(""));
        assert_eq!(f.some("d"), None);
        assert!(!f.checked("d"));
        assert_eq!(f.lines("uris"), vec!["x", "y"]);
    }
}
