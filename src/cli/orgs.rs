//! `nyckel org ...`: organisations, their roles, members and invitations. Everything but
//! `create` and `add-member` goes through the admin use-cases as the operator (superadmin),
//! so the checks, audit events and notifications are the web UI's and the API's.

use clap::Subcommand;
use serde_json::json;

use crate::admin::orgs::OrgChanges;
use crate::admin::{Caller, invitations, members, orgs};
use crate::cli::support::{all_pages, find_org, find_user, missing, print_items, utc};
use crate::cli::{Out, now, open_db};
use crate::config::Config;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        name: String,
        /// URL-friendly name (default: derived from the name).
        #[arg(long)]
        slug: Option<String>,
    },
    /// Add a person to an organisation with roles (adds roles if already a member; roles
    /// missing from the organisation's list are added to it).
    AddMember {
        /// Organisation id or slug.
        #[arg(long, allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        email: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Import members from a CSV file (columns name, email, phone, roles, external_id; see
    /// docs/provisioning.md): people who are not members yet are invited by mail, present
    /// members are linked; importing the same file again changes nothing.
    Import {
        /// Organisation id or slug.
        #[arg(long, allow_hyphen_values = true)]
        org: String,
        /// The CSV file.
        file: std::path::PathBuf,
        /// Only show what each row would do.
        #[arg(long)]
        dry_run: bool,
    },
    #[command(flatten)]
    Admin(OrgAdmin),
}

/// The commands that act through the admin use-cases.
#[derive(Debug, Subcommand)]
pub enum OrgAdmin {
    /// List every organisation.
    List,
    /// Show one organisation.
    Show {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
    },
    /// Rename an organisation, change its slug or default language.
    Update {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        slug: Option<String>,
        /// Language of messages to people without a language of their own.
        #[arg(long, value_parser = ["sv", "en"])]
        default_locale: Option<String>,
    },
    /// Delete an organisation with its memberships, roles, clients and invitations.
    Delete {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Require two factors of the organisation's members (`on`), or stop requiring them.
    SetTwoFactors {
        /// Organisation id or slug.
        #[arg(long, allow_hyphen_values = true)]
        org: String,
        #[arg(value_parser = ["on", "off"])]
        value: String,
    },
    /// List the organisation's roles.
    Roles {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
    },
    /// Add a role to the organisation's list, or change its description.
    RoleSet {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        role: String,
        /// What the role means (default: unchanged, or empty for a new role).
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a role (members holding it lose it; `admin` cannot be deleted).
    RoleDelete {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        role: String,
    },
    /// List the members (name, email, phone and roles here).
    Members {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        /// Only members whose name or email contains this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// Replace a member's roles (effective at their next token refresh).
    SetRoles {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        email: String,
        /// A role from the organisation's list; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Remove a member (their refresh tokens for the organisation stop working at once).
    RemoveMember {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        email: String,
    },
    /// Invite a person by email; the link is mailed to them (never shown here).
    Invite {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        email: String,
        /// A role from the organisation's list; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List the organisation's invitations, newest first.
    Invitations {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
    },
    /// Revoke an open invitation.
    RevokeInvitation {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        /// The invitation's id (from `org invitations`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Mail a member a temporary key to set a new password (the key goes to them only).
    SendReset {
        /// Organisation id or slug.
        #[arg(allow_hyphen_values = true)]
        org: String,
        #[arg(long)]
        email: String,
    },
}

pub async fn run(cmd: OrgCommand, config: Config, out: Out) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::Create { name, slug } => {
            let db = open_db(&config).await?;
            let now = now();
            // The organisation and its audit event: one transaction.
            let mut tx = db.begin().await?;
            let org = orgs::create_in(&mut tx, &name, slug.as_deref(), "sv", now).await?;
            orgs::record_created(&mut tx, &Caller::operator(), now, &org).await?;
            tx.commit().await?;
            out.print(
                &json!({ "id": org.id, "slug": org.slug, "name": org.name }),
                &format!(
                    "created organisation {} (id {}, slug {})",
                    org.name, org.id, org.slug
                ),
            );
        }
        OrgCommand::AddMember { org, email, roles } => {
            let state = AppState::build(config).await?;
            let now = state.now();
            // The membership, its audit event and the webhooks it owes: one transaction.
            let mut tx = state.db.begin().await?;
            let (org, user_id, roles) =
                orgs::add_member_in(&mut tx, &org, &email, &roles, now).await?;
            let added = crate::webhooks::events::Event::MemberAdded {
                org_id: &org.id,
                user_id: &user_id,
            };
            crate::webhooks::events::emit(&mut tx, &state, added).await?;
            crate::admin::record(
                &mut tx,
                &Caller::operator(),
                now,
                "admin.member_added",
                Some(&org.id),
                Some(&user_id),
                json!({ "roles": roles }),
            )
            .await?;
            tx.commit().await?;
            out.print(
                &json!({ "org_id": org.id, "user_id": user_id, "roles": roles }),
                &format!("{email} in {}: {}", org.slug, roles.join(", ")),
            );
        }
        OrgCommand::Import { org, file, dry_run } => {
            let state = AppState::build(config).await?;
            crate::cli::import::run(&state, &org, &file, dry_run, out).await?;
        }
        OrgCommand::Admin(cmd) => {
            let state = AppState::build(config).await?;
            administer(&state, &Caller::operator(), cmd, out).await?;
        }
    }
    Ok(())
}

fn print_org(out: Out, org: &orgs::OrgView, verb: &str) {
    out.print(
        &json!(org),
        &format!(
            "{verb}{} (id {}, slug {}, default language {})",
            org.name, org.id, org.slug, org.default_locale
        ),
    );
}

fn print_member(out: Out, m: &members::MemberView, org: &str) {
    out.print(
        &json!(m),
        &format!("{} in {org}: {}", m.email, m.roles.join(", ")),
    );
}

async fn administer(
    state: &AppState,
    caller: &Caller,
    cmd: OrgAdmin,
    out: Out,
) -> anyhow::Result<()> {
    let db = &state.db;
    match cmd {
        OrgAdmin::List => {
            let all = all_pages(None, |cursor, limit| async move {
                orgs::list(state, caller, cursor.as_deref(), Some(limit)).await
            })
            .await?;
            print_items(out, &all, "no organisations", |o| {
                format!(
                    "{:<24} {:<32} {} {}",
                    o.slug, o.name, o.id, o.default_locale
                )
            });
        }
        OrgAdmin::Show { org } => {
            let org = find_org(db, &org).await?;
            let view = orgs::get(state, caller, &org.id).await?;
            print_org(out, &view, "");
        }
        OrgAdmin::Update {
            org,
            name,
            slug,
            default_locale,
        } => {
            if name.is_none() && slug.is_none() && default_locale.is_none() {
                anyhow::bail!("nothing to change: give --name, --slug or --default-locale");
            }
            let org = find_org(db, &org).await?;
            let view = orgs::update(
                state,
                caller,
                &org.id,
                OrgChanges {
                    name,
                    slug,
                    default_locale,
                },
            )
            .await?;
            print_org(out, &view, "updated ");
        }
        OrgAdmin::Delete { org, yes } => {
            let org = find_org(db, &org).await?;
            if !yes {
                anyhow::bail!(
                    "deleting {} removes its memberships, roles, clients and invitations; add --yes to confirm",
                    org.slug
                );
            }
            orgs::delete(state, caller, &org.id).await?;
            out.print(
                &json!({ "deleted": true, "id": org.id, "slug": org.slug }),
                &format!("deleted organisation {} ({})", org.name, org.slug),
            );
        }
        OrgAdmin::SetTwoFactors { org, value } => {
            let org = find_org(db, &org).await?;
            let on = value == "on";
            let done = crate::auth::factors::settings::set_org(state, caller, &org.id, on).await?;
            let text = if on {
                format!("{} now requires two factors of its members", org.slug)
            } else {
                format!("{} no longer requires two factors of its members", org.slug)
            };
            out.print(&json!(done), &text);
        }
        OrgAdmin::Roles { org } => {
            let org = find_org(db, &org).await?;
            let roles = orgs::roles(state, caller, &org.id).await?;
            print_items(out, &roles, "no roles", |r| {
                format!("{:<20} {}", r.name, r.description)
            });
        }
        OrgAdmin::RoleSet {
            org,
            role,
            description,
        } => {
            let org = find_org(db, &org).await?;
            let description = match description {
                Some(d) => d,
                None => store::orgs::roles(db, &org.id)
                    .await?
                    .into_iter()
                    .find(|r| r.name == role)
                    .map(|r| r.description)
                    .unwrap_or_default(),
            };
            let saved = orgs::put_role(state, caller, &org.id, &role, &description).await?;
            out.print(
                &json!(saved),
                &format!("role {} in {}: {}", saved.name, org.slug, saved.description),
            );
        }
        OrgAdmin::RoleDelete { org, role } => {
            let org = find_org(db, &org).await?;
            orgs::delete_role(state, caller, &org.id, &role)
                .await
                .map_err(missing(|| format!("{} has no role {role:?}", org.slug)))?;
            out.print(
                &json!({ "deleted": true, "org_id": org.id, "role": role }),
                &format!("deleted role {role} from {}", org.slug),
            );
        }
        OrgAdmin::Members { org, search } => {
            let org = find_org(db, &org).await?;
            let (org_id, search) = (org.id.as_str(), search.as_deref());
            let all = all_pages(None, |cursor, limit| async move {
                members::list(
                    state,
                    caller,
                    org_id,
                    search,
                    cursor.as_deref(),
                    Some(limit),
                )
                .await
            })
            .await?;
            print_items(out, &all, "no members", |m| {
                format!(
                    "{:<32} {:<24} {}",
                    m.email,
                    m.name.as_deref().unwrap_or("-"),
                    m.roles.join(", ")
                )
            });
        }
        OrgAdmin::SetRoles { org, email, roles } => {
            let org = find_org(db, &org).await?;
            let user = find_user(db, &email).await?;
            let m = members::set_roles(state, caller, &org.id, &user.id, &roles)
                .await
                .map_err(|e| not_a_member(e, &user.email, &org.slug))?;
            print_member(out, &m, &org.slug);
        }
        OrgAdmin::RemoveMember { org, email } => {
            let org = find_org(db, &org).await?;
            let user = find_user(db, &email).await?;
            members::remove(state, caller, &org.id, &user.id)
                .await
                .map_err(|e| not_a_member(e, &user.email, &org.slug))?;
            out.print(
                &json!({ "removed": true, "org_id": org.id, "user_id": user.id }),
                &format!("removed {} from {}", user.email, org.slug),
            );
        }
        OrgAdmin::Invite { org, email, roles } => {
            let org = find_org(db, &org).await?;
            let inv = invitations::create(state, caller, &org.id, &email, &roles).await?;
            out.print(
                &json!(inv),
                &format!(
                    "invited {} to {} as {} (invitation {}, valid until {}); the link goes to them by email",
                    inv.email,
                    org.slug,
                    inv.roles.join(", "),
                    inv.id,
                    utc(inv.expires_at)
                ),
            );
        }
        OrgAdmin::Invitations { org } => {
            let org = find_org(db, &org).await?;
            let org_id = org.id.as_str();
            let all = all_pages(None, |cursor, limit| async move {
                invitations::list(state, caller, org_id, cursor.as_deref(), Some(limit)).await
            })
            .await?;
            print_items(out, &all, "no invitations", |i| {
                format!(
                    "{} {:<32} {:<8} {} (until {})",
                    i.id,
                    i.email,
                    i.status,
                    i.roles.join(", "),
                    utc(i.expires_at)
                )
            });
        }
        OrgAdmin::RevokeInvitation { org, id } => {
            let org = find_org(db, &org).await?;
            invitations::revoke(state, caller, &org.id, &id)
                .await
                .map_err(missing(|| {
                    format!("{} has no open invitation {id:?}", org.slug)
                }))?;
            out.print(
                &json!({ "revoked": true, "org_id": org.id, "id": id }),
                &format!("revoked invitation {id}"),
            );
        }
        OrgAdmin::SendReset { org, email } => {
            let org = find_org(db, &org).await?;
            let user = find_user(db, &email).await?;
            members::send_reset(state, caller, &org.id, &user.id)
                .await
                .map_err(|e| not_a_member(e, &user.email, &org.slug))?;
            out.print(
                &json!({ "sent": true, "org_id": org.id, "user_id": user.id }),
                &format!(
                    "sent {} a password-reset key (to their email only)",
                    user.email
                ),
            );
        }
    }
    Ok(())
}

/// Names the person and organisation when a member use-case found no membership.
fn not_a_member(e: crate::admin::AdminError, email: &str, org: &str) -> anyhow::Error {
    match e {
        crate::admin::AdminError::NotFound(m) if m == "no member" => {
            anyhow::anyhow!("{email} is not a member of {org}")
        }
        e => e.into(),
    }
}
