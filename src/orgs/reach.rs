//! The reach of a client: which administrative authority a token issued through it may carry
//! (ARCHITECTURE.md section 4, "Authority through clients"; docs/security.md, "Trust
//! boundaries"). The rule, checked at every use of a token and when one is issued:
//!
//! > A token's admin authority is the intersection of what the person may do and what the
//! > client may reach. A client owned by organisation A reaches A only, whoever logs in
//! > through it, and never carries superadmin authority. An installation client (owned by
//! > no organisation: only a superadmin or the operator registers one) restricted to some
//! > organisations reaches those; an unrestricted installation client reaches everything.
//!
//! So an organisation admin who registers a client for the admin API can never receive, by
//! a code some other person is tricked into producing, more than the authority they already
//! hold: authority in their own organisation.

use crate::store::clients::Client;
use crate::store::orgs::Membership;
use crate::store::{self, Db};

/// The built-in role that administers an organisation.
const ADMIN_ROLE: &str = "admin";

/// Where a client's tokens may carry administrative authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Everything the person may do, installation-wide authority included.
    Installation,
    /// These organisations (ids) only; never installation-wide or superadmin authority.
    Organisations(Vec<String>),
}

impl Reach {
    /// The reach of `client`: its owner's organisation, else the organisations it is
    /// restricted to, else (an unrestricted installation client) everything.
    pub fn of(client: &Client) -> Reach {
        match &client.owner_organisation_id {
            Some(owner) => Reach::Organisations(vec![owner.clone()]),
            None if !client.organisations.is_empty() => {
                Reach::Organisations(client.organisations.clone())
            }
            None => Reach::Installation,
        }
    }

    /// Whether authority in `organisation_id` may be carried.
    pub fn covers(&self, organisation_id: &str) -> bool {
        match self {
            Reach::Installation => true,
            Reach::Organisations(orgs) => orgs.iter().any(|o| o == organisation_id),
        }
    }

    /// Whether installation-wide (superadmin) authority may be carried.
    pub fn is_installation(&self) -> bool {
        matches!(self, Reach::Installation)
    }
}

/// The administrative authority a person holds through a client, as the consent page names
/// it: installation-wide, and the organisations they administer within the client's reach.
#[derive(Debug, Clone, Default)]
pub struct AdminAuthority {
    /// Superadmin authority through an unrestricted installation client.
    pub installation: bool,
    /// Organisations the person administers within the reach (with their names).
    pub organisations: Vec<Membership>,
}

impl AdminAuthority {
    /// Whether there is any administrative authority at all (else the `admin` scope is not
    /// granted: a member gets no admin token, not even silently through a first-party
    /// client).
    pub fn any(&self) -> bool {
        self.installation || !self.organisations.is_empty()
    }
}

/// What administrative authority `user_id` holds through `client`, as things are now.
pub async fn admin_authority(
    db: &Db,
    user_id: &str,
    client: &Client,
) -> Result<AdminAuthority, sqlx::Error> {
    let reach = Reach::of(client);
    let superadmin = store::users::find(db, user_id)
        .await?
        .is_some_and(|u| u.is_active() && u.superadmin != 0);
    let organisations = store::orgs::memberships_of(db, user_id)
        .await?
        .into_iter()
        .filter(|m| reach.covers(&m.organisation_id) && m.roles.iter().any(|r| r == ADMIN_ROLE))
        .collect();
    Ok(AdminAuthority {
        installation: superadmin && reach.is_installation(),
        organisations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(owner: Option<&str>, organisations: &[&str]) -> Client {
        Client {
            id: "c".into(),
            name: "c".into(),
            secret_hash: None,
            public: false,
            first_party: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            id_token_alg: "RS256".into(),
            require_organisation: false,
            organisations: organisations.iter().map(|s| s.to_string()).collect(),
            owner_organisation_id: owner.map(str::to_string),
            visible_roles: None,
            admin_api: true,
            require_pkce: true,
            require_two_factors: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            frontchannel_logout_uri: None,
            frontchannel_logout_session_required: false,
            created_at: 0,
        }
    }

    #[test]
    fn an_owned_client_reaches_its_owner_only() {
        // Even when a superadmin widened its restriction: the owner bounds it.
        let r = Reach::of(&client(Some("a"), &["a", "b"]));
        assert_eq!(r, Reach::Organisations(vec!["a".into()]));
        assert!(r.covers("a") && !r.covers("b") && !r.is_installation());
        let r = Reach::of(&client(None, &["b"]));
        assert!(r.covers("b") && !r.covers("a") && !r.is_installation());
        let r = Reach::of(&client(None, &[]));
        assert!(r.covers("a") && r.is_installation());
    }
}
