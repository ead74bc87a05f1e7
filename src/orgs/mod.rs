//! Organisations and the claims built from memberships (ARCHITECTURE.md section 4):
//! `orgs` (scope `orgs`) and, for an active organisation, `org_id` and `org_roles`.

pub mod permissions;
pub mod reach;

use serde_json::{Map, Value, json};

use crate::store::clients::Client;
use crate::store::orgs::Membership;

/// Memberships a client may learn about: all of them, or only those in the organisations the
/// client is restricted to (a client of club A has no business knowing about club B), each
/// with only the roles the client may see.
pub fn visible_to(client: &Client, memberships: &[Membership]) -> Vec<Membership> {
    memberships
        .iter()
        .filter(|m| {
            client.organisations.is_empty() || client.organisations.contains(&m.organisation_id)
        })
        .map(|m| Membership {
            roles: visible_roles(client, &m.roles),
            ..m.clone()
        })
        .collect()
}

/// The roles a client may see of `roles` (its `visible_roles` setting; all when unset).
pub fn visible_roles(client: &Client, roles: &[String]) -> Vec<String> {
    match &client.visible_roles {
        Some(allowed) => roles
            .iter()
            .filter(|r| allowed.contains(r))
            .cloned()
            .collect(),
        None => roles.to_vec(),
    }
}

/// The `orgs` claim: `{ "<org_id>": { "slug", "name", "roles" } }`.
pub fn orgs_claim(memberships: &[Membership]) -> Value {
    let mut map = Map::new();
    for m in memberships {
        map.insert(
            m.organisation_id.clone(),
            json!({ "slug": m.slug, "name": m.name, "roles": m.roles }),
        );
    }
    Value::Object(map)
}

/// Validates an organisation slug: 2-63 of `a-z0-9-`, not starting or ending with `-`.
pub fn valid_slug(slug: &str) -> bool {
    (2..=63).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// Derives a slug from a name: lower-case ASCII letters and digits, other runs become `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'å' | 'ä' | 'à' | 'á' | 'â' => 'a',
            'ö' | 'ø' | 'ó' | 'ò' | 'ô' => 'o',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'ü' | 'ú' => 'u',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(63).collect()
}

/// Validates a role name: 1-64 of `a-z0-9_-`.
pub fn valid_role(role: &str) -> bool {
    (1..=64).contains(&role.len())
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("IFK Göteborg Damer"), "ifk-goteborg-damer");
        assert!(valid_slug("ifk-goteborg"));
        assert!(!valid_slug("-x"));
        assert!(!valid_slug("A"));
    }
}
