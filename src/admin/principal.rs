//! Who is asking: the authority of a caller of an admin use-case, loaded fresh from the
//! database for every request (a role taken away counts at once, whatever a token says).

use crate::orgs::permissions::{self, Action, Refusal, Standing};
use crate::store::{self, Db};

/// The caller of an administrative use-case.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Nobody signed in.
    Anonymous,
    /// A person, with their authority as it is now.
    Person {
        user_id: String,
        superadmin: bool,
        /// Organisations where they hold `admin`.
        admin_of: Vec<String>,
        /// Organisations where they are a member (admin or not).
        member_of: Vec<String>,
    },
    /// A service client acting with the `admin` scope for the one organisation that owns it.
    Service {
        client_id: String,
        organisation_id: String,
    },
    /// The operator at the command line (has the database and the master key anyway).
    Operator,
}

/// The built-in role that administers an organisation.
pub const ADMIN_ROLE: &str = "admin";

impl Principal {
    /// Loads a person's authority.
    pub async fn person(db: &Db, user_id: &str) -> Result<Principal, sqlx::Error> {
        let Some(user) = store::users::find(db, user_id).await? else {
            return Ok(Principal::Anonymous);
        };
        if !user.is_active() {
            return Ok(Principal::Anonymous);
        }
        let memberships = store::orgs::memberships_of(db, user_id).await?;
        Ok(Principal::Person {
            user_id: user.id,
            superadmin: user.superadmin != 0,
            admin_of: memberships
                .iter()
                .filter(|m| m.roles.iter().any(|r| r == ADMIN_ROLE))
                .map(|m| m.organisation_id.clone())
                .collect(),
            member_of: memberships.into_iter().map(|m| m.organisation_id).collect(),
        })
    }

    /// The caller's standing in an organisation.
    pub fn standing(&self, organisation_id: &str) -> Standing {
        match self {
            Principal::Anonymous => Standing::Anonymous,
            Principal::Operator => Standing::Superadmin,
            Principal::Person {
                superadmin: true, ..
            } => Standing::Superadmin,
            Principal::Person {
                admin_of,
                member_of,
                ..
            } => {
                if admin_of.iter().any(|o| o == organisation_id) {
                    Standing::Admin
                } else if member_of.iter().any(|o| o == organisation_id) {
                    Standing::Member
                } else {
                    Standing::Outsider
                }
            }
            Principal::Service {
                organisation_id: own,
                ..
            } => {
                if own == organisation_id {
                    Standing::Admin
                } else {
                    Standing::Outsider
                }
            }
        }
    }

    /// The caller's standing for installation-level actions: superadmin, or the highest
    /// standing they have anywhere (so a member of some organisation may list the
    /// organisations they administer, and a stranger is simply not allowed).
    pub fn installation_standing(&self) -> Standing {
        match self {
            Principal::Anonymous => Standing::Anonymous,
            Principal::Operator
            | Principal::Person {
                superadmin: true, ..
            } => Standing::Superadmin,
            Principal::Person {
                admin_of,
                member_of,
                ..
            } => {
                if !admin_of.is_empty() {
                    Standing::Admin
                } else if !member_of.is_empty() {
                    Standing::Member
                } else {
                    Standing::Outsider
                }
            }
            Principal::Service { .. } => Standing::Admin,
        }
    }

    /// Checks an action on an object owned by `organisation_id`.
    pub fn check(&self, action: Action, organisation_id: &str) -> Result<(), Refusal> {
        permissions::decide(self.standing(organisation_id), action)
    }

    /// Checks an installation-level action.
    pub fn check_installation(&self, action: Action) -> Result<(), Refusal> {
        let standing = self.installation_standing();
        match permissions::decide(standing, action) {
            // Installation objects are not hidden: their existence is no secret.
            Err(Refusal::NotFound) => Err(Refusal::Forbidden),
            other => other,
        }
    }

    /// Whether the caller is the superadmin (or the operator).
    pub fn is_superadmin(&self) -> bool {
        self.installation_standing() == Standing::Superadmin
    }

    /// Organisations the caller administers (`None`: all of them).
    pub fn administered(&self) -> Option<Vec<String>> {
        match self {
            Principal::Operator
            | Principal::Person {
                superadmin: true, ..
            } => None,
            Principal::Person { admin_of, .. } => Some(admin_of.clone()),
            Principal::Service {
                organisation_id, ..
            } => Some(vec![organisation_id.clone()]),
            Principal::Anonymous => Some(Vec::new()),
        }
    }

    /// How the caller is named in the audit log: a person's id, `client:<id>` or `cli`.
    pub fn actor_id(&self) -> Option<String> {
        match self {
            Principal::Anonymous => None,
            Principal::Person { user_id, .. } => Some(user_id.clone()),
            Principal::Service { client_id, .. } => Some(format!("client:{client_id}")),
            Principal::Operator => Some("cli".to_string()),
        }
    }

    /// The person behind the call, if it is a person.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::Person { user_id, .. } => Some(user_id),
            _ => None,
        }
    }
}

/// The principal behind a bearer access token for the admin API: a live Nyckel access
/// token with the `admin` scope, of a person (their authority now) or of a service client
/// owned by an organisation and registered for the admin API. Anything else is anonymous.
pub async fn from_access_token(
    state: &crate::state::AppState,
    token: &str,
) -> Result<Principal, crate::oidc::error::OAuthError> {
    let valid = match crate::oidc::access::validate(state, token, state.now()).await? {
        Ok(v) => v,
        Err(_) => return Ok(Principal::Anonymous),
    };
    if !crate::oidc::scope::has(&valid.scope, crate::oidc::scope::ADMIN) {
        return Ok(Principal::Anonymous);
    }
    if let Some(user) = &valid.user {
        return Ok(Principal::person(&state.db, &user.id).await?);
    }
    let client = state.clients.get(&valid.client_id).await?;
    Ok(match client {
        Some(c) if c.admin_api => match &c.owner_organisation_id {
            Some(org) => Principal::Service {
                client_id: c.id.clone(),
                organisation_id: org.clone(),
            },
            None => Principal::Anonymous,
        },
        _ => Principal::Anonymous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(admin_of: &[&str], member_of: &[&str]) -> Principal {
        Principal::Person {
            user_id: "u".into(),
            superadmin: false,
            admin_of: admin_of.iter().map(|s| s.to_string()).collect(),
            member_of: member_of.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn standing_is_per_organisation() {
        let p = person(&["a"], &["a", "b"]);
        assert_eq!(p.standing("a"), Standing::Admin);
        assert_eq!(p.standing("b"), Standing::Member);
        assert_eq!(p.standing("c"), Standing::Outsider);
        let s = Principal::Service {
            client_id: "c".into(),
            organisation_id: "a".into(),
        };
        assert_eq!(s.standing("a"), Standing::Admin);
        assert_eq!(s.standing("b"), Standing::Outsider);
        assert_eq!(s.check(Action::MemberRead, "b"), Err(Refusal::NotFound));
        assert_eq!(
            p.check_installation(Action::OrgCreate),
            Err(Refusal::Forbidden)
        );
    }
}
