//! The permission matrix (SECURITY.md V8, `docs/permissions.md`): which standing in an
//! organisation may do which administrative action. This table is the single source of
//! truth: the admin use-cases ask [`allowed`], the generated matrix test walks it, and
//! `docs/permissions.md` is checked against [`render_markdown`].
//!
//! A caller's *standing* is relative to the organisation that owns the object acted on.
//! Installation-level objects (organisations themselves, installation clients) have no
//! owning organisation: only a superadmin has standing there.

use std::fmt;

/// Who the caller is relative to one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Not authenticated.
    Anonymous,
    /// Authenticated, but not a member of the organisation.
    Outsider,
    /// A member without the `admin` role.
    Member,
    /// A member with the `admin` role, or a service client bound to the organisation.
    Admin,
    /// The installation's superadmin.
    Superadmin,
}

impl Standing {
    /// Every standing, lowest first.
    pub const ALL: [Standing; 5] = [
        Standing::Anonymous,
        Standing::Outsider,
        Standing::Member,
        Standing::Admin,
        Standing::Superadmin,
    ];

    /// The name used in documents and tests.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Anonymous => "anonymous",
            Standing::Outsider => "outsider",
            Standing::Member => "member",
            Standing::Admin => "org admin",
            Standing::Superadmin => "superadmin",
        }
    }
}

/// Declares [`Action`] and [`Action::ALL`] from one list, so that no action can be left
/// out of the list the matrix test walks.
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident,)+) => {
        /// An administrative action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $name,)+
        }

        impl Action {
            /// Every action (the matrix test walks these).
            pub const ALL: [Action; [$(Action::$name),+].len()] = [$(Action::$name),+];
        }
    };
}

actions! {
    /// List organisations (a superadmin sees all; others see those they administer).
    OrgList,
    OrgCreate,
    OrgRead,
    /// Rename, change the slug or default language.
    OrgUpdate,
    OrgDelete,
    RoleList,
    /// Add a role, change its description, delete it.
    RoleWrite,
    MemberList,
    MemberRead,
    /// Change a member's roles in the organisation.
    MemberUpdateRoles,
    MemberRemove,
    /// Send the member a temporary login key for a password reset (to the member only).
    MemberSendReset,
    /// Set a new password for a person (only when the installation's policy allows it).
    PersonSetPassword,
    InvitationList,
    InvitationCreate,
    InvitationRevoke,
    ClientList,
    ClientRead,
    ClientCreate,
    /// Change the name, redirect URIs and settings of a client.
    ClientUpdate,
    ClientRotateSecret,
    ClientDelete,
    /// List webhook endpoints.
    WebhookList,
    /// Read an endpoint and its recent deliveries.
    WebhookRead,
    /// Add, change, delete an endpoint, replace its secret, redeliver a message.
    WebhookWrite,
    SessionList,
    SessionEnd,
    AuditRead,
    /// Read the whole installation's audit log.
    AuditReadAll,
    /// Make a person superadmin or not (installation level).
    SuperadminGrant,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where an action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An object owned by an organisation.
    Organisation,
    /// The installation as a whole.
    Installation,
}

/// One row of the matrix: the action, where it applies, the lowest standing allowed, and
/// what the action means.
pub struct Rule {
    pub action: Action,
    pub scope: Scope,
    pub min: Standing,
    pub what: &'static str,
}

use Action::*;
use Standing::{Admin, Member, Superadmin};

/// The matrix. Every action appears exactly once.
pub const MATRIX: &[Rule] = &[
    rule(
        OrgList,
        Scope::Installation,
        Member,
        "list organisations (each sees only those where they are admin; superadmin all)",
    ),
    rule(
        OrgCreate,
        Scope::Installation,
        Superadmin,
        "create an organisation",
    ),
    rule(
        OrgRead,
        Scope::Organisation,
        Admin,
        "read an organisation's settings",
    ),
    rule(
        OrgUpdate,
        Scope::Organisation,
        Superadmin,
        "rename, change slug or default language",
    ),
    rule(
        OrgDelete,
        Scope::Organisation,
        Superadmin,
        "delete an organisation",
    ),
    rule(
        RoleList,
        Scope::Organisation,
        Admin,
        "list the organisation's roles",
    ),
    rule(
        RoleWrite,
        Scope::Organisation,
        Admin,
        "add, describe or delete a role (not the built-in admin role)",
    ),
    rule(
        MemberList,
        Scope::Organisation,
        Admin,
        "list and search members (name, email, phone, roles in this organisation only)",
    ),
    rule(
        MemberRead,
        Scope::Organisation,
        Admin,
        "read one member (same fields)",
    ),
    rule(
        MemberUpdateRoles,
        Scope::Organisation,
        Admin,
        "change a member's roles in this organisation",
    ),
    rule(
        MemberRemove,
        Scope::Organisation,
        Admin,
        "remove a member from this organisation",
    ),
    rule(
        MemberSendReset,
        Scope::Organisation,
        Admin,
        "send the member a password-reset key (to the member only)",
    ),
    rule(
        PersonSetPassword,
        Scope::Installation,
        Superadmin,
        "set a person's password (only if [admin] allow_set_password; forces a change at next login)",
    ),
    rule(
        InvitationList,
        Scope::Organisation,
        Admin,
        "list invitations",
    ),
    rule(
        InvitationCreate,
        Scope::Organisation,
        Admin,
        "invite a person by email with roles",
    ),
    rule(
        InvitationRevoke,
        Scope::Organisation,
        Admin,
        "revoke an open invitation",
    ),
    rule(
        ClientList,
        Scope::Organisation,
        Admin,
        "list the organisation's own clients",
    ),
    rule(
        ClientRead,
        Scope::Organisation,
        Admin,
        "read one of the organisation's clients",
    ),
    rule(
        ClientCreate,
        Scope::Organisation,
        Admin,
        "create a client owned by the organisation",
    ),
    rule(
        ClientUpdate,
        Scope::Organisation,
        Admin,
        "edit name, redirect URIs and settings",
    ),
    rule(
        ClientRotateSecret,
        Scope::Organisation,
        Admin,
        "rotate a confidential client's secret (shown once)",
    ),
    rule(ClientDelete, Scope::Organisation, Admin, "delete a client"),
    rule(
        WebhookList,
        Scope::Organisation,
        Admin,
        "list the organisation's webhook endpoints (installation endpoints: superadmin)",
    ),
    rule(
        WebhookRead,
        Scope::Organisation,
        Admin,
        "read an endpoint and its recent deliveries (never its secret)",
    ),
    rule(
        WebhookWrite,
        Scope::Organisation,
        Admin,
        "add, change or delete an endpoint, replace its secret, redeliver a message",
    ),
    rule(
        SessionList,
        Scope::Organisation,
        Admin,
        "list a member's login sessions",
    ),
    rule(
        SessionEnd,
        Scope::Organisation,
        Admin,
        "end a member's login session",
    ),
    rule(
        AuditRead,
        Scope::Organisation,
        Admin,
        "read and export the organisation's audit log",
    ),
    rule(
        AuditReadAll,
        Scope::Installation,
        Superadmin,
        "read and export the whole installation's audit log",
    ),
    rule(
        SuperadminGrant,
        Scope::Installation,
        Superadmin,
        "make a person superadmin or take it away",
    ),
];

const fn rule(action: Action, scope: Scope, min: Standing, what: &'static str) -> Rule {
    Rule {
        action,
        scope,
        min,
        what,
    }
}

/// The rule for an action (every action has one; a unit test checks).
pub fn rule_of(action: Action) -> Option<&'static Rule> {
    MATRIX.iter().find(|r| r.action == action)
}

/// Whether a caller with `standing` may do `action`. An action without a rule is allowed to
/// nobody.
pub fn allowed(standing: Standing, action: Action) -> bool {
    rule_of(action).is_some_and(|r| standing >= r.min)
}

/// What a refusal looks like from outside: objects of organisations where the caller has no
/// standing do not exist for them (404); members who may not act get 403; anonymous
/// callers 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unauthenticated,
    Forbidden,
    NotFound,
}

/// Decides `action` for `standing`: `Ok` or how to refuse.
pub fn decide(standing: Standing, action: Action) -> Result<(), Refusal> {
    if allowed(standing, action) {
        return Ok(());
    }
    let scope = rule_of(action).map_or(Scope::Installation, |r| r.scope);
    Err(match (standing, scope) {
        (Standing::Anonymous, _) => Refusal::Unauthenticated,
        (Standing::Outsider, Scope::Organisation) => Refusal::NotFound,
        _ => Refusal::Forbidden,
    })
}

/// The matrix as a Markdown table (the body of `docs/permissions.md` between its markers).
pub fn render_markdown() -> String {
    let mut out = String::from("| Action | Applies to | ");
    out.push_str(
        &Standing::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" | Meaning |\n|---|---|");
    out.push_str(&"---|".repeat(Standing::ALL.len()));
    out.push_str("---|\n");
    for r in MATRIX {
        let scope = match r.scope {
            Scope::Organisation => "organisation",
            Scope::Installation => "installation",
        };
        out.push_str(&format!("| `{}` | {scope} |", r.action));
        for s in Standing::ALL {
            out.push_str(if allowed(s, r.action) {
                " yes |"
            } else {
                " no |"
            });
        }
        out.push_str(&format!(" {} |\n", r.what));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_rule() {
        for a in Action::ALL {
            assert!(rule_of(a).is_some(), "{a} has no rule");
        }
        assert_eq!(MATRIX.len(), Action::ALL.len());
        for r in MATRIX {
            assert_eq!(
                MATRIX.iter().filter(|o| o.action == r.action).count(),
                1,
                "{}",
                r.action
            );
        }
    }

    /// Fails to compile when an action is added without being listed here (and in ALL).
    #[test]
    fn all_lists_every_action() {
        let index = |a: Action| match a {
            OrgList | OrgCreate | OrgRead | OrgUpdate | OrgDelete | RoleList | RoleWrite
            | MemberList | MemberRead | MemberUpdateRoles | MemberRemove | MemberSendReset
            | PersonSetPassword | InvitationList | InvitationCreate | InvitationRevoke
            | ClientList | ClientRead | ClientCreate | ClientUpdate | ClientRotateSecret
            | ClientDelete | WebhookList | WebhookRead | WebhookWrite | SessionList
            | SessionEnd | AuditRead | AuditReadAll | SuperadminGrant => {
                Action::ALL.iter().position(|x| *x == a)
            }
        };
        for a in Action::ALL {
            assert!(index(a).is_some());
        }
    }

    #[test]
    fn nobody_below_member_does_anything() {
        for r in MATRIX {
            assert!(!allowed(Standing::Anonymous, r.action));
            assert!(!allowed(Standing::Outsider, r.action));
            assert!(allowed(Standing::Superadmin, r.action));
        }
    }

    #[test]
    fn refusals_hide_foreign_organisations() {
        assert_eq!(
            decide(Standing::Outsider, MemberRead),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            decide(Standing::Member, MemberRead),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            decide(Standing::Anonymous, MemberRead),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(decide(Standing::Admin, OrgCreate), Err(Refusal::Forbidden));
    }

    #[test]
    fn the_document_matches_the_code() {
        let doc = include_str!("../../docs/permissions.md");
        let table = render_markdown();
        assert!(
            doc.contains(&table),
            "docs/permissions.md is out of date; replace its table with:\n{table}"
        );
    }
}
