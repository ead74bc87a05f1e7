//! Scope strings: parsing, and restricting to the scopes we support.

use crate::oidc::discovery::SCOPES;

/// The scope of the admin API (`/api/admin/v1`): only for clients registered with
/// `admin_api`; a person's token acts with the person's current authority, a service
/// client's with its owning organisation's admin authority.
pub const ADMIN: &str = "admin";

/// The scope of an organisation's SCIM endpoint (`/scim/v2/orgs/{org}`): only with
/// `client_credentials`, for a client of that organisation registered with `admin_api`. Not
/// in `scopes_supported` and never granted to a person: it is not about one.
pub const SCIM: &str = "scim";

/// Splits a space-separated scope string, keeping only supported scopes, without duplicates,
/// in a stable order.
pub fn parse_supported(scope: &str) -> Vec<String> {
    let requested: Vec<&str> = scope.split_whitespace().collect();
    SCOPES
        .iter()
        .filter(|s| requested.contains(s))
        .map(|s| s.to_string())
        .collect()
}

/// Joins scopes with spaces.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Whether `scope` (space-separated) contains `name`.
pub fn has(scope: &str, name: &str) -> bool {
    scope.split_whitespace().any(|s| s == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_are_dropped_and_order_is_stable() {
        assert_eq!(
            parse_supported("email openid admin openid orgs x"),
            vec!["openid", "email", "orgs", "admin"]
        );
        assert!(has("openid email", "email"));
        assert!(!has("openid emails", "email"));
    }
}
