//! Who is asking: the authority of a caller of an admin use-case, loaded fresh from the
//! database for every request (a role taken away counts at once, whatever a token says).
//! A caller with a bearer token holds the intersection of the person's authority and the
//! reach of the client the token was issued to ([`Principal::within`], `orgs::reach`), and
//! only with a login that meets the person's current factor requirement
//! ([`from_access_token`]).

use crate::orgs::permissions::{self, Action, Refusal, Standing};
use crate::orgs::reach::Reach;
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

    /// This authority as far as `reach` lets it go: superadmin authority only through an
    /// installation-wide reach, organisations only within the reach. Service clients are
    /// already bound to their owning organisation.
    pub fn within(self, reach: &Reach) -> Principal {
        match self {
            Principal::Person {
                user_id,
                superadmin,
                admin_of,
                member_of,
            } => Principal::Person {
                user_id,
                superadmin: superadmin && reach.is_installation(),
                admin_of: admin_of.into_iter().filter(|o| reach.covers(o)).collect(),
                member_of: member_of.into_iter().filter(|o| reach.covers(o)).collect(),
            },
            other => other,
        }
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

/// Why a bearer token gives no authority on the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a live Nyckel access token for the admin API (RFC 6750 `invalid_token`).
    Invalid,
    /// The login behind it did not meet the person's current requirement: two factors
    /// (RFC 9470 `insufficient_user_authentication`; the client asks again with
    /// `acr_values=urn:nyckel:acr:2fa`).
    InsufficientAuthentication,
}

/// The principal behind a bearer access token for the admin API: a live Nyckel access
/// token with the `admin` scope, issued to a client registered for the admin API. A
/// person's token carries their authority as it is now, within the client's reach, and
/// only when the login it came from meets their current factor requirement (what the admin
/// web UI demands of the same person); a service client's token carries its owning
/// organisation's. All of it is decided at each use, not at issue: roles, factor
/// requirements and the client's settings change after a token is issued.
#[tracing::instrument(skip_all)]
pub async fn from_access_token(
    state: &crate::state::AppState,
    token: &str,
) -> Result<Result<Principal, TokenRefusal>, crate::oidc::error::OAuthError> {
    let valid = match crate::oidc::access::validate(state, token, state.now()).await? {
        Ok(v) => v,
        Err(_) => return Ok(Err(TokenRefusal::Invalid)),
    };
    if !crate::oidc::scope::has(&valid.scope, crate::oidc::scope::ADMIN) {
        return Ok(Err(TokenRefusal::Invalid));
    }
    let Some(client) = state.clients.get(&valid.client_id).await? else {
        return Ok(Err(TokenRefusal::Invalid));
    };
    if !client.admin_api {
        return Ok(Err(TokenRefusal::Invalid));
    }
    if let (Some(user), Some(grant)) = (&valid.user, &valid.grant) {
        let two_factors = grant.acr == crate::auth::session::acr::MULTI_FACTOR;
        if !two_factors
            && crate::auth::factors::requirement(&state.db, &state.config, &user.id)
                .await?
                .required()
        {
            return Ok(Err(TokenRefusal::InsufficientAuthentication));
        }
        let person = Principal::person(&state.db, &user.id).await?;
        return Ok(Ok(person.within(&Reach::of(&client))));
    }
    Ok(match &client.owner_organisation_id {
        Some(org) => Ok(Principal::Service {
            client_id: client.id.clone(),
            organisation_id: org.clone(),
        }),
        None => Err(TokenRefusal::Invalid),
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

    #[test]
    fn a_reach_bounds_a_person() {
        let boss = Principal::Person {
            user_id: "u".into(),
            superadmin: true,
            admin_of: vec!["a".into(), "b".into()],
            member_of: vec!["a".into(), "b".into(), "c".into()],
        };
        let through_a = boss.clone().within(&Reach::Organisations(vec!["a".into()]));
        assert!(!through_a.is_superadmin());
        assert_eq!(through_a.standing("a"), Standing::Admin);
        assert_eq!(through_a.standing("b"), Standing::Outsider);
        assert_eq!(through_a.standing("c"), Standing::Outsider);
        assert_eq!(through_a.administered(), Some(vec!["a".to_string()]));
        let console = boss.within(&Reach::Installation);
        assert!(console.is_superadmin());
    }
}
