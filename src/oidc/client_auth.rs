//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! section 2.3): `client_secret_basic`, `client_secret_post`, and `none` for public clients
//! (which only identify themselves with `client_id`). Also the form-body parser these
//! endpoints share, which refuses repeated parameters (RFC 6749 section 3.2).
//!
//! Every failure to authenticate answers the same `invalid_client`, whether the client is
//! unknown, the secret wrong or missing, or a public client sent a secret.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::{constant_time_eq, sha256_b64};
use crate::oidc::error::{ErrorCode, OAuthError};
use std::sync::Arc;

use crate::oidc::client_cache::ClientCache;
use crate::store::clients::Client;

/// The parameters of an `application/x-www-form-urlencoded` request body. Its `Debug`
/// shows parameter names only: values include secrets, codes and tokens.
#[derive(Default, Clone)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    /// Parses a form body. A parameter given twice is `invalid_request` (RFC 6749 3.2).
    ///
    /// Repeats are found with a hash set, in time linear in the body: these endpoints parse
    /// before they authenticate anyone, and comparing every name with every earlier one
    /// cost 0.7 s of CPU (debug build) for one 64 KiB body of distinct names.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut seen = HashSet::with_capacity(pairs.len());
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {k} is given more than once"
            )));
        }
        Ok(Self { pairs })
    }

    /// A parameter's value; empty values count as absent (RFC 6749 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is missing")))
    }
}

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Basic,
    Post,
    /// A public client naming itself.
    None,
}

/// A client whose identity is established.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Arc<Client>,
    pub method: Method,
}

/// The credentials as presented, before any lookup.
struct Presented {
    client_id: String,
    secret: Option<String>,
    method: Method,
}

crate::redact::debug_showing!(Presented { client_id, method });

/// Authenticates the client of a request from its `Authorization` header (if any) and form.
pub async fn authenticate(
    clients: &ClientCache,
    authorization: Option<&str>,
    form: &Form,
) -> Result<Authenticated, OAuthError> {
    let presented = presented(authorization, form)?;
    let client = clients
        .get(&presented.client_id)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    check(&client, presented.secret.as_deref())?;
    Ok(Authenticated {
        client,
        method: presented.method,
    })
}

/// Works out which method was used; two at once is `invalid_request`.
fn presented(authorization: Option<&str>, form: &Form) -> Result<Presented, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    if let Some(header) = authorization {
        let (id, secret) = parse_basic(header).ok_or_else(OAuthError::invalid_client)?;
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        // A client_id in the body next to Basic is tolerated when it names the same client.
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body does not match the Authorization header",
            ));
        }
        return Ok(Presented {
            client_id: id,
            secret: Some(secret),
            method: Method::Basic,
        });
    }
    let Some(id) = body_id else {
        return Err(OAuthError::invalid_client());
    };
    Ok(match body_secret {
        Some(secret) => Presented {
            client_id: id.to_string(),
            secret: Some(secret.to_string()),
            method: Method::Post,
        },
        None => Presented {
            client_id: id.to_string(),
            secret: None,
            method: Method::None,
        },
    })
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1); `None` for
/// another scheme, broken base64 or escapes, invalid UTF-8, or an empty id or secret. Public
/// for the property tests (`tests/it/prop_forms.rs`).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() || secret.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value (`+` is a space,
/// `%XX` a byte); a broken escape or invalid UTF-8 is `None`.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Checks the presented secret against the client's registration.
fn check(client: &Client, secret: Option<&str>) -> Result<(), OAuthError> {
    match (client.public, secret, client.secret_hash.as_deref()) {
        // A public client naming itself.
        (true, None, _) => Ok(()),
        (false, Some(secret), Some(stored)) => {
            if constant_time_eq(sha256_b64(secret).as_bytes(), stored.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_client())
            }
        }
        // Public client with a secret, confidential client without one, or no stored hash.
        _ => Err(OAuthError::invalid_client()),
    }
}

/// `unauthorized_client` unless the client is registered for `grant_type`.
pub fn require_grant(client: &Client, grant_type: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant_type) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client is not registered for {grant_type}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("my%3Aclient", "a+b%2Bc")),
            Some(("my:client".into(), "a b+c".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic(&basic("", "x")), None);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let form = Form::parse(b"client_id=a&client_secret=s").expect("form");
        let e = presented(Some(&basic("a", "s")), &form).expect_err("two methods");
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let form = Form::parse(b"client_id=a").expect("form");
        assert_eq!(
            presented(Some(&basic("a", "s")), &form)
                .expect("same id")
                .method,
            Method::Basic
        );
        let form = Form::parse(b"client_id=b").expect("form");
        assert!(presented(Some(&basic("a", "s")), &form).is_err());
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Form::parse(b"code=a&code=b").is_err());
        assert!(Form::parse(b"code=a&c%6Fde=b").is_err());
        let f = Form::parse(b"a=1&b=").expect("form");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), None);
    }

    #[test]
    fn many_distinct_names_take_linear_time() {
        // Regression: repeats were found by comparing each name with all earlier ones, 0.7 s
        // for a 64 KiB body (~14 000 names). 1 MiB (~190 000 names) now takes well under a
        // second even unoptimised; the quadratic search would take minutes. The bound leaves
        // room for a busy machine on both sides.
        let body: Vec<String> = (0..190_000).map(|i| format!("{i:x}")).collect();
        let body = body.join("&");
        let started = std::time::Instant::now();
        let form = Form::parse(body.as_bytes()).expect("distinct names");
        assert_eq!(form.pairs.len(), 190_000);
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
        // And a repeat at the very end is still found.
        assert!(Form::parse(format!("{body}&0").as_bytes()).is_err());
    }

    #[test]
    fn secrets_are_checked_by_kind_of_client() {
        let mut c = Client {
            id: "c".into(),
            name: "c".into(),
            secret_hash: Some(sha256_b64("right")),
            public: false,
            first_party: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            id_token_alg: "RS256".into(),
            require_organisation: false,
            organisations: vec![],
            owner_organisation_id: None,
            visible_roles: None,
            admin_api: false,
            require_pkce: true,
            require_two_factors: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            frontchannel_logout_uri: None,
            frontchannel_logout_session_required: false,
            created_at: 0,
        };
        assert!(check(&c, Some("right")).is_ok());
        assert!(check(&c, Some("wrong")).is_err());
        assert!(check(&c, None).is_err());
        c.public = true;
        c.secret_hash = None;
        assert!(check(&c, None).is_ok());
        assert!(check(&c, Some("right")).is_err());
    }
}
