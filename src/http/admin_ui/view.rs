//! Pieces every admin page shows: the frame ([`Chrome`]: who is signed in, the
//! organisation's tabs, a status message), messages from the catalog for what a use-case
//! refused, dates, and links.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::AdminError;
use crate::http::page::render_status;
use crate::i18n::{Locale, Texts};

/// The frame around every admin page.
pub struct Chrome {
    /// The signed-in person's email.
    pub email: String,
    /// For the sign-out form.
    pub csrf: String,
    pub superadmin: bool,
    /// Whether to offer the organisation switcher (several organisations, or superadmin).
    pub switch: bool,
    /// `(slug, name)` of the organisation whose tabs are shown.
    pub org: Option<(String, String)>,
    /// The current tab: `members`, `invite`, `roles`, `clients` or `audit`.
    pub tab: &'static str,
    /// A status or error message at the top of the page.
    pub notice: Option<Notice>,
}

impl Chrome {
    /// The frame with a message.
    pub fn with(mut self, notice: Option<Notice>) -> Chrome {
        self.notice = notice;
        self
    }
}

/// A message at the top of a page.
#[derive(Debug, Clone)]
pub struct Notice {
    pub error: bool,
    pub text: String,
    /// The language of `text` when it differs from the page's (an untranslated detail).
    pub lang: Option<&'static str>,
}

impl Notice {
    /// A success message from the catalog.
    pub fn done(t: Texts, key: &'static str) -> Notice {
        Notice {
            error: false,
            text: t.t(key).to_string(),
            lang: None,
        }
    }

    /// What a refused use-case said, in the page's language where the catalog knows it.
    pub fn from_error(t: Texts, e: &AdminError) -> Notice {
        let detail = e.to_string();
        match known_error(&detail) {
            Some(key) => Notice {
                error: true,
                text: t.t(key).to_string(),
                lang: None,
            },
            None => Notice {
                error: true,
                text: format!("{} {detail}", t.t("admin.error.not_done")),
                lang: (t.locale != Locale::En).then_some("en"),
            },
        }
    }
}

/// Catalog keys for the refusals people meet most, recognised by the use-case's words.
/// Anything else is shown as the use-case wrote it (in English).
fn known_error(detail: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        ("last admin", "admin.error.last_admin"),
        ("is not an email address", "admin.error.email"),
        ("is not a valid role name", "admin.error.role_name"),
        (
            "is not a role of this organisation",
            "admin.error.unknown_role",
        ),
        ("already exists", "admin.error.exists"),
        ("is not a valid slug", "admin.error.slug"),
        (
            "built in and cannot be deleted",
            "admin.error.admin_builtin",
        ),
        ("needs at least one", "admin.error.redirect_needed"),
        ("the name must be", "admin.error.name"),
        ("the description must be", "admin.error.description"),
        (
            "public client has no secret",
            "admin.error.public_no_secret",
        ),
        ("public client cannot use", "admin.error.public_no_secret"),
        ("first-party", "admin.error.first_party"),
        (
            "sent to this person very recently",
            "admin.error.reset_recent",
        ),
    ];
    KNOWN
        .iter()
        .find(|(words, _)| detail.contains(words))
        .map(|(_, key)| *key)
}

/// An error page in the admin frame.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct ErrorPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub heading: &'static str,
    pub message: String,
    /// Whether to link back to the admin start page (the person administers something).
    pub admin_home: bool,
}

/// A question before something that cannot be undone: one button that posts, and a way back.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
    /// Where the button posts.
    pub action: String,
    pub button: &'static str,
    /// Where "cancel" goes.
    pub back: String,
}

/// Renders a page with `status`.
pub fn page(status: StatusCode, t: &impl Template) -> Response {
    render_status(status, t)
}

pub use crate::http::page::{date, datetime};

/// Percent-encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A link to `path` with the non-empty query parameters given.
pub fn link(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", enc(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The status message named by `?done=` after a form was handled (post, redirect, get):
/// only the names below mean anything, so a crafted link cannot put words on the page.
pub fn done_notice(t: Texts, done: Option<&str>) -> Option<Notice> {
    let key = match done? {
        "roles_saved" => "admin.done.roles_saved",
        "member_removed" => "admin.done.member_removed",
        "reset_sent" => "admin.done.reset_sent",
        "session_ended" => "admin.done.session_ended",
        "invited" => "admin.done.invited",
        "invitation_revoked" => "admin.done.invitation_revoked",
        "role_saved" => "admin.done.role_saved",
        "role_deleted" => "admin.done.role_deleted",
        "client_updated" => "admin.done.client_updated",
        "client_deleted" => "admin.done.client_deleted",
        "org_created" => "admin.done.org_created",
        _ => return None,
    };
    Some(Notice::done(t, key))
}

/// The page numbers of a keyset-paginated list: a link to the next page, and one back to
/// the first when not on it.
pub struct Pager {
    pub next: Option<String>,
    pub first: Option<String>,
}

impl Pager {
    /// The pager for a list at `path` with `params`, now at `cursor`, continuing at `next`.
    pub fn new(
        path: &str,
        params: &[(&str, Option<&str>)],
        cursor: Option<&str>,
        next: Option<&str>,
    ) -> Pager {
        let with = |c: Option<&str>| {
            let mut p = params.to_vec();
            p.push(("cursor", c));
            link(path, &p)
        };
        Pager {
            next: next.map(|c| with(Some(c))),
            first: cursor.map(|_| with(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_and_skip_empty_values() {
        assert_eq!(
            link(
                "/a",
                &[("q", Some("å b&c")), ("cursor", None), ("x", Some(""))]
            ),
            "/a?q=%C3%A5+b%26c"
        );
        assert!(done_notice(Texts::new(Locale::En), Some("<script>")).is_none());
    }

    #[test]
    fn refusals_people_meet_are_translated() {
        let e = AdminError::Conflict(
            "this is the organisation's last admin; make someone else admin first".into(),
        );
        let n = Notice::from_error(Texts::new(Locale::Sv), &e);
        assert!(n.error && n.lang.is_none());
        let n = Notice::from_error(Texts::new(Locale::Sv), &AdminError::Invalid("odd".into()));
        assert_eq!(n.lang, Some("en"));
    }
}
