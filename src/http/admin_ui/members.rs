//! Members: the list with search, and one member's page (roles, password reset key,
//! sessions, removal). Only what the organisation needs is shown: name, email, phone and
//! the roles here.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::members::{self, MemberView};
use crate::admin::orgs::OrgView;
use crate::admin::sessions;
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::state::AppState;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Fields, Shown, Stop};
use super::org_path;
use super::view::{Chrome, ConfirmPage, Pager, date, datetime, enc, link, page};

/// The member list.
#[derive(Template)]
#[template(path = "admin/members.html")]
pub struct MembersPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub q: String,
    pub members: Vec<MemberView>,
    pub pager: Pager,
}

/// `GET /admin/orgs/{org}/members?q=&cursor=`.
pub async fn get_list(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let search = q.some("q");
    let cursor = q.some("cursor");
    let list = members::list(&state, &admin.caller, &org.id, search, cursor, None)
        .await
        .map_err(|e| admin.fail(e))?;
    let base = org_path(&org);
    let path = format!("{base}/members");
    let pager = Pager::new(&path, &[("q", search)], cursor, list.next_cursor.as_deref());
    Ok(page(
        StatusCode::OK,
        &MembersPage {
            t: admin.texts,
            chrome: admin
                .org_chrome(&org, "members")
                .with(admin.done(&q).notice),
            base,
            q: search.unwrap_or_default().to_string(),
            members: list.items,
            pager,
        },
    ))
}

/// One role on the role editor.
pub struct RoleChoice {
    pub name: String,
    pub description: String,
    pub checked: bool,
}

/// The organisation's roles, those in `ticked` ticked.
pub(super) async fn role_choices(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    ticked: &[String],
) -> Result<Vec<RoleChoice>, Stop> {
    Ok(crate::admin::orgs::roles(state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?
        .into_iter()
        .map(|r| RoleChoice {
            checked: ticked.contains(&r.name),
            name: r.name,
            description: r.description,
        })
        .collect())
}

/// One login session on the member page.
pub struct SessionLine {
    pub sid: String,
    pub started: String,
    pub last_seen: String,
    pub methods: String,
    /// Superadmins only.
    pub origin: Option<String>,
}

/// A member's page.
#[derive(Template)]
#[template(path = "admin/member.html")]
pub struct MemberPage {
    pub t: Texts,
    pub chrome: Chrome,
    /// `/admin/orgs/<slug>/members/<user>`.
    pub here: String,
    pub base: String,
    pub org_name: String,
    pub member: MemberView,
    pub since: String,
    pub roles: Vec<RoleChoice>,
    pub sessions: Vec<SessionLine>,
}

/// `GET /admin/orgs/{org}/members/{user}`.
pub async fn get_member(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, user)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let shown = admin.done(&Fields::query(raw.as_deref()));
    member_page(&state, &admin, &org, &user, shown).await
}

async fn member_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    user: &str,
    shown: Shown,
) -> Result<Response, Stop> {
    let fail = |e| admin.fail(e);
    let member = members::get(state, &admin.caller, &org.id, user)
        .await
        .map_err(fail)?;
    let roles = role_choices(state, admin, org, &member.roles).await?;
    let sessions = sessions::list(state, &admin.caller, &org.id, user)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|s| SessionLine {
            started: datetime(&state.time_zone, s.created_at),
            last_seen: datetime(&state.time_zone, s.last_seen_at),
            methods: s.amr.join(", "),
            origin: match (s.ip, s.user_agent) {
                (None, None) => None,
                (ip, ua) => Some(
                    [ip, ua]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                ),
            },
            sid: s.sid,
        })
        .collect();
    let base = org_path(org);
    Ok(page(
        shown.status,
        &MemberPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "members").with(shown.notice),
            here: format!("{base}/members/{}", enc(&member.user_id)),
            base,
            org_name: org.name.clone(),
            since: date(&state.time_zone, member.since),
            member,
            roles,
            sessions,
        },
    ))
}

/// Redirects to the member's page with a status message.
fn back_to(org: &OrgView, user: &str, done: &str) -> Response {
    see_other(&link(
        &format!("{}/members/{}", org_path(org), enc(user)),
        &[("done", Some(done))],
    ))
}

/// `POST /admin/orgs/{org}/members/{user}/roles`: replaces the member's roles with the
/// ticked ones.
pub async fn post_roles(
    Path((_, user)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let roles = form.all("roles");
    match members::set_roles(&state, &admin.caller, &org.id, &user, &roles).await {
        Ok(_) => Ok(back_to(&org, &user, "roles_saved")),
        Err(e) => member_page(&state, &admin, &org, &user, admin.refused(e)?).await,
    }
}

/// `POST /admin/orgs/{org}/members/{user}/reset`: sends the member a password-reset key.
/// The key goes to the member only; the page says so and shows nothing else.
pub async fn post_reset(
    Path((_, user)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    match members::send_reset(&state, &admin.caller, &org.id, &user).await {
        Ok(()) => Ok(back_to(&org, &user, "reset_sent")),
        // Sent a moment ago (the person's mailbox is not flooded): said on the member page.
        Err(e) => member_page(&state, &admin, &org, &user, admin.refused(e)?).await,
    }
}

/// `POST /admin/orgs/{org}/members/{user}/sessions/{sid}/end`.
pub async fn post_end_session(
    Path((_, user, sid)): Path<(String, String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    sessions::end(&state, &admin.caller, &org.id, &user, &sid)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(back_to(&org, &user, "session_ended"))
}

/// `GET /admin/orgs/{org}/members/{user}/remove`: asks before removing.
pub async fn get_remove(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, user)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let member = members::get(&state, &admin.caller, &org.id, &user)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(remove_page(&admin, &org, &member, Shown::plain()))
}

fn remove_page(admin: &Admin, org: &OrgView, member: &MemberView, shown: Shown) -> Response {
    let t = admin.texts;
    let who = member.name.clone().unwrap_or_else(|| member.email.clone());
    let here = format!("{}/members/{}", org_path(org), enc(&member.user_id));
    page(
        shown.status,
        &ConfirmPage {
            t,
            chrome: admin.org_chrome(org, "members").with(shown.notice),
            heading: t
                .t("admin.member.remove_heading")
                .replace("{name}", &who)
                .replace("{org}", &org.name),
            text: t.t("admin.member.remove_text").replace("{org}", &org.name),
            action: format!("{here}/remove"),
            button: t.t("admin.member.remove_button"),
            back: here,
        },
    )
}

/// `POST /admin/orgs/{org}/members/{user}/remove`.
pub async fn post_remove(
    Path((_, user)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    match members::remove(&state, &admin.caller, &org.id, &user).await {
        Ok(()) => Ok(see_other(&format!(
            "{}/members?done=member_removed",
            org_path(&org)
        ))),
        Err(e) => {
            let shown = admin.refused(e)?;
            let member = members::get(&state, &admin.caller, &org.id, &user)
                .await
                .map_err(|e| admin.fail(e))?;
            Ok(remove_page(&admin, &org, &member, shown))
        }
    }
}
