//! Inviting people by email with roles, and the organisation's invitations (revocable while
//! open). The admin never sees the link: it goes to the invited address only.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::Response;

use crate::admin::invitations::{self, InvitationView};
use crate::admin::orgs::OrgView;
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::state::AppState;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Fields, Shown, Stop};
use super::members::{RoleChoice, role_choices};
use super::org_path;
use super::view::{Chrome, Notice, Pager, datetime, page};

/// One invitation in the list.
pub struct InvitationLine {
    pub id: String,
    pub email: String,
    pub roles: String,
    /// Catalog key of the status.
    pub status: &'static str,
    pub open: bool,
    pub sent: String,
    pub expires: String,
}

/// The invite form and the list of invitations.
#[derive(Template)]
#[template(path = "admin/invite.html")]
pub struct InvitePage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub email: String,
    pub roles: Vec<RoleChoice>,
    pub invitations: Vec<InvitationLine>,
    pub pager: Pager,
}

/// What the form held, to show it again after a refusal.
struct Draft {
    email: String,
    roles: Vec<String>,
}

/// `GET /admin/orgs/{org}/invite?cursor=`.
pub async fn get_invite(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let draft = Draft {
        email: String::new(),
        roles: vec!["member".into()],
    };
    let shown = admin.done(&q);
    invite_page(&state, &admin, &org, q.some("cursor"), draft, shown).await
}

async fn invite_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    cursor: Option<&str>,
    draft: Draft,
    shown: Shown,
) -> Result<Response, Stop> {
    let roles = role_choices(state, admin, org, &draft.roles).await?;
    let list = invitations::list(state, &admin.caller, &org.id, cursor, None)
        .await
        .map_err(|e| admin.fail(e))?;
    let base = org_path(org);
    let pager = Pager::new(
        &format!("{base}/invite"),
        &[],
        cursor,
        list.next_cursor.as_deref(),
    );
    let invitations = list
        .items
        .into_iter()
        .map(|i| line(&admin.time_zone, i))
        .collect();
    Ok(page(
        shown.status,
        &InvitePage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "invite").with(shown.notice),
            base,
            email: draft.email,
            roles,
            invitations,
            pager,
        },
    ))
}

fn line(tz: &jiff::tz::TimeZone, i: InvitationView) -> InvitationLine {
    InvitationLine {
        status: match i.status {
            "accepted" => "admin.invite.status_accepted",
            "revoked" => "admin.invite.status_revoked",
            "expired" => "admin.invite.status_expired",
            _ => "admin.invite.status_open",
        },
        open: i.status == "open",
        roles: i.roles.join(", "),
        sent: datetime(tz, i.created_at),
        expires: datetime(tz, i.expires_at),
        id: i.id,
        email: i.email,
    }
}

/// `POST /admin/orgs/{org}/invite`: invites `email` with the ticked roles.
pub async fn post_invite(
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let draft = Draft {
        email: form.text("email").trim().to_string(),
        roles: form.all("roles"),
    };
    let result = if draft.roles.is_empty() {
        Err(crate::admin::AdminError::Invalid(
            "give at least one role".into(),
        ))
    } else {
        invitations::create(&state, &admin.caller, &org.id, &draft.email, &draft.roles).await
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}/invite?done=invited",
            org_path(&org)
        ))),
        Err(e) => {
            let mut shown = admin.refused(e)?;
            if draft.roles.is_empty() {
                shown.notice = Some(Notice {
                    error: true,
                    text: admin.texts.t("admin.invite.no_roles").to_string(),
                    lang: None,
                });
            }
            invite_page(&state, &admin, &org, None, draft, shown).await
        }
    }
}

/// `POST /admin/orgs/{org}/invitations/{id}/revoke`.
pub async fn post_revoke(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    invitations::revoke(&state, &admin.caller, &org.id, &id)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(see_other(&format!(
        "{}/invite?done=invitation_revoked",
        org_path(&org)
    )))
}
