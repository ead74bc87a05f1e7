//! The authorization endpoint's protocol logic (OIDC Core 3.1.2): validating a request
//! ([`validate`]), deciding what happens next for a person and a pending request
//! ([`decide`]: log in, pick an organisation, consent, or get a code), and building the
//! redirects back to the client with `iss` (RFC 9207) in every response. No axum here.
//!
//! Until the client and its redirect URI are known to be good, nothing redirects: an unknown
//! `client_id` or an unregistered `redirect_uri` is shown to the person as a page (RFC 6749
//! 4.1.2.1, RFC 9700 4.11). Every later error goes back to the client.

use std::collections::HashMap;

use crate::auth::factors;
use crate::auth::session::{Session, acr};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::error::Result;
use crate::keys::KeyRing;
use crate::oidc::client_cache::ClientCache;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::logout::{self, Hint};
use crate::oidc::pending::{AuthParams, Pending};
use crate::oidc::{redirect, scope};
use crate::orgs;
use crate::orgs::reach::AdminAuthority;
use crate::store::orgs::Membership;
use crate::store::{self, Db, clients::Client};

/// The grant type a client needs to use this endpoint.
const AUTHORIZATION_CODE: &str = "authorization_code";

/// Why a request cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Shown to the person, never redirected: the catalog key of the message.
    Page(&'static str),
    /// Sent back to the client's (verified) redirect URI.
    Redirect(ErrorRedirect),
}

/// An error response for a verified redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub error: OAuthError,
}

impl ErrorRedirect {
    /// The error for the request `params`.
    pub fn for_params(params: &AuthParams, error: OAuthError) -> Self {
        Self {
            redirect_uri: params.redirect_uri.clone(),
            state: params.state.clone(),
            error,
        }
    }

    /// The URL to send the browser to; `issuer` becomes `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![("error", self.error.code.as_str())];
        if let Some(d) = &self.error.description {
            pairs.push(("error_description", d.as_str()));
        }
        if let Some(s) = &self.state {
            pairs.push(("state", s.as_str()));
        }
        pairs.push(("iss", issuer));
        append_query(&self.redirect_uri, &pairs)
    }
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub struct Validated {
    pub client: Client,
    /// `force_login` is set for `prompt=login`, `prompt=select_account`, `max_age=0` and an
    /// exceeded `max_age`: the person logs in again whatever session they have.
    pub params: AuthParams,
}

/// Appends `pairs` to the query of `uri` (which may already have one), percent-encoding them.
/// `uri` has been matched against a registration, so it parses; if it somehow does not, the
/// pairs are appended by hand.
pub fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{encoded}")
        }
    }
}

/// The success response: `code`, `state` (unmodified, when sent) and `iss`.
pub fn success_location(params: &AuthParams, code: &str, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(s) = &params.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", issuer));
    append_query(&params.redirect_uri, &pairs)
}

/// The origin (`scheme://host[:port]`) of a URL, for a CSP `form-action` source.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The parameters of a request (query or form body), in order. Parameters sent without a
/// value are treated as omitted (OIDC Core 3.1.2.1).
pub fn parse_pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of `ui_locales`, if sent once (used before validation, to pick the language of
/// an error page).
pub fn ui_locales(pairs: &[(String, String)]) -> Option<&str> {
    single(pairs, "ui_locales")
}

fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates an authorization request (OIDC Core 3.1.2.1, RFC 6749 4.1.1, RFC 7636).
/// `now` and `session` decide whether `max_age` forces a new login.
pub async fn validate(
    clients: &ClientCache,
    keys: &KeyRing,
    issuer: &str,
    pairs: &[(String, String)],
    session: Option<&Session>,
    now: UnixTime,
) -> Result<std::result::Result<Validated, Rejection>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (k, _) in pairs {
        *counts.entry(k.as_str()).or_default() += 1;
    }
    let repeated = |name: &str| counts.get(name).copied().unwrap_or(0) > 1;
    let get = |name: &str| single(pairs, name);

    // 1. The client and the redirect URI: until both are good, errors are pages.
    if repeated("client_id") {
        return Ok(Err(Rejection::Page("error.unknown_client")));
    }
    let Some(client_id) = get("client_id") else {
        return Ok(Err(Rejection::Page("error.unknown_client")));
    };
    let Some(client) = clients.get(client_id).await?.map(|c| (*c).clone()) else {
        return Ok(Err(Rejection::Page("error.unknown_client")));
    };
    if repeated("redirect_uri") {
        return Ok(Err(Rejection::Page("error.bad_redirect_uri")));
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return Ok(Err(Rejection::Page("error.bad_redirect_uri")));
    };
    if !redirect::matches(&client.redirect_uris, redirect_uri, client.public) {
        return Ok(Err(Rejection::Page("error.bad_redirect_uri")));
    }

    // 2. From here on, errors go back to the client.
    let state = get("state").map(str::to_string);
    let fail = |code: ErrorCode, description: &str| {
        Ok(Err(Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_string(),
            state: state.clone(),
            error: OAuthError::new(code, description),
        })))
    };
    let mut dup: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    if !dup.is_empty() {
        dup.sort_unstable();
        let description = format!("parameters must not be repeated: {}", dup.join(", "));
        return fail(ErrorCode::InvalidRequest, &description);
    }
    match get("response_type") {
        Some("code") => {}
        None => return fail(ErrorCode::InvalidRequest, "response_type is required"),
        Some(_) => {
            return fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            );
        }
    }
    if get("request").is_some() {
        return fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        );
    }
    if get("request_uri").is_some() {
        return fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        );
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return fail(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        );
    }
    if !client.allows_grant(AUTHORIZATION_CODE) {
        return fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        );
    }

    // PKCE (RFC 7636; RFC 9700 2.1.1, SECURITY.md 10.4.6): S256 only; required of every
    // client unless a confidential legacy app was registered without it.
    let code_challenge = get("code_challenge");
    match (code_challenge, get("code_challenge_method")) {
        (Some(_), Some("S256")) => {}
        (Some(_), _) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            );
        }
        (None, Some(_)) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method was sent without a code_challenge",
            );
        }
        (None, None) if client.public => {
            return fail(
                ErrorCode::InvalidRequest,
                "public clients must use PKCE (code_challenge with S256)",
            );
        }
        (None, None) if client.require_pkce => {
            return fail(
                ErrorCode::InvalidRequest,
                "this client must use PKCE (code_challenge with S256)",
            );
        }
        (None, None) => {}
    }
    if code_challenge.is_some_and(|c| !is_pkce_value(c)) {
        return fail(
            ErrorCode::InvalidRequest,
            "code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
        );
    }

    // prompt (OIDC Core 3.1.2.1).
    let (mut no_prompt, mut prompt_login, mut force_consent) = (false, false, false);
    if let Some(prompt) = get("prompt") {
        let values: Vec<&str> = prompt.split(' ').filter(|v| !v.is_empty()).collect();
        for v in &values {
            match *v {
                "none" => no_prompt = true,
                "login" | "select_account" => prompt_login = true,
                "consent" => force_consent = true,
                _ => return fail(ErrorCode::InvalidRequest, "unsupported prompt value"),
            }
        }
        if no_prompt && values.len() > 1 {
            return fail(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            );
        }
    }

    let max_age = match get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 && v.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                );
            }
        },
    };
    // max_age=0 means "log in now" (OIDC Core 3.1.2.1, errata: equivalent to prompt=login).
    if max_age == Some(0) {
        prompt_login = true;
    }
    let too_old = match (max_age, session) {
        (Some(m), Some(s)) => now - s.auth_time > m,
        _ => false,
    };

    // id_token_hint (OIDC Core 3.1.2.1): one of our ID tokens for this client (an expired
    // one is fine: it identifies, it does not authorise). It names the person the client
    // expects; `decide` refuses or re-asks when someone else is signed in.
    let hint_sub = match get("id_token_hint") {
        None => None,
        Some(token) => match logout::verify_hint(keys, issuer, token) {
            Some(Hint {
                sub: Some(sub),
                aud,
                ..
            }) if aud.contains(&client.id) => Some(sub),
            _ => {
                return fail(
                    ErrorCode::InvalidRequest,
                    "id_token_hint is not an ID token of this issuer for this client",
                );
            }
        },
    };

    let mut scopes = scope::parse_supported(get("scope").unwrap_or(""));
    // The admin API's scope only for clients registered for it.
    if !client.admin_api {
        scopes.retain(|s| s != scope::ADMIN);
    }
    if scopes.is_empty() {
        return fail(
            ErrorCode::InvalidScope,
            "none of the requested scopes is supported",
        );
    }

    let params = AuthParams {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: scope::join(&scopes),
        state,
        nonce: get("nonce").map(str::to_string),
        code_challenge: code_challenge.map(str::to_string),
        // Someone else than the hint's person signed in: a new login, for the right person
        // (under prompt=none, `decide` answers login_required instead).
        force_login: prompt_login
            || too_old
            || (!no_prompt
                && hint_sub
                    .as_deref()
                    .is_some_and(|h| session.is_some_and(|s| s.user_id != h))),
        force_consent,
        no_prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_string),
        ui_locales: get("ui_locales").map(str::to_string),
        organization: get("organization").map(str::to_string),
        acr_values: parse_acr_values(get("acr_values").unwrap_or("")),
        hint_sub,
    };
    Ok(Ok(Validated { client, params }))
}

/// The email the login page starts with: `login_hint`, else the address of the person a
/// valid `id_token_hint` names (the person the client expects).
pub async fn login_prefill(db: &Db, params: &AuthParams) -> Result<Option<String>> {
    if let Some(hint) = &params.login_hint {
        return Ok(Some(hint.clone()));
    }
    match &params.hint_sub {
        Some(sub) => Ok(store::users::find(db, sub).await?.map(|u| u.email)),
        None => Ok(None),
    }
}

/// The `acr` values this server knows (discovery's `acr_values_supported`).
pub const ACR_VALUES_SUPPORTED: &[&str] = &[acr::SINGLE_FACTOR, acr::MULTI_FACTOR];

/// The supported values of a space-separated `acr_values`, in order, without repeats.
pub fn parse_acr_values(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in raw.split(' ').filter(|v| ACR_VALUES_SUPPORTED.contains(v)) {
        if !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    out
}

/// What happens next for a pending request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Send the person to the login page.
    Login,
    /// Answer the client with an error (the pending request is done).
    Error(ErrorRedirect),
    /// The person is not a member of an organisation the client serves (a page, 403).
    NotMember,
    /// Ask which organisation to use.
    SelectOrg(Vec<Membership>),
    /// The session is of one factor but two are needed (the client's `acr_values`, the
    /// organisation's or the person's rules): a second factor on top of the session, which
    /// is then replaced. Never issue with the weaker session.
    StepUp,
    /// Ask for consent to `scopes`, for the organisation (when one is active). With the
    /// `admin` scope, `admin` says which authority the token would carry, so the page can
    /// name it.
    Consent {
        scopes: Vec<String>,
        organisation: Option<Membership>,
        admin: Option<AdminAuthority>,
    },
    /// Issue a code with `scope` (the requested scopes this person may be granted) for the
    /// organisation (when one is active).
    Issue {
        organisation_id: Option<String>,
        scope: String,
    },
}

/// The browser's session as a request sees it: a live one, or why there is none to use
/// (logged when `prompt=none` is refused, so an integrator can see why a silent renewal
/// fails).
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    In(&'a Session),
    Out(&'static str),
}

impl<'a> Signed<'a> {
    /// The live session, if any.
    pub fn session(self) -> Option<&'a Session> {
        match self {
            Signed::In(session) => Some(session),
            Signed::Out(_) => None,
        }
    }
}

/// What is known when deciding.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub client: &'a Client,
    pub pending: &'a Pending,
    pub session: Signed<'a>,
    /// An organisation chosen on the picker (id), overriding the request's `organization`.
    pub org_choice: Option<&'a str>,
    /// The person has just allowed the request on the consent page.
    pub consented: bool,
    /// The installation's configuration (the two-factor rules).
    pub config: &'a Config,
}

/// Decides the next step (OIDC Core 3.1.2.3-3.1.2.4): login, organisation, consent, code.
pub async fn decide(db: &Db, s: Situation<'_>) -> Result<Decision> {
    let params = &s.pending.params;
    let error = |code: ErrorCode, description: &str| {
        Decision::Error(ErrorRedirect::for_params(
            params,
            OAuthError::new(code, description),
        ))
    };
    // A refusal of `prompt=none`, with the reason in the debug log: the client only sees
    // the error code, and a silent renewal that keeps failing needs the why (issue 17).
    let refuse = |code: ErrorCode, description: &str, reason: &str| {
        tracing::debug!(client = %params.client_id, error = ?code, reason, "prompt=none refused");
        error(code, description)
    };

    // Login: a live session, fresh enough when a new login was demanded.
    let session = match s.session {
        Signed::In(session) if !params.force_login || session.auth_time >= s.pending.created_at => {
            session
        }
        Signed::In(_) if params.no_prompt => {
            return Ok(refuse(
                ErrorCode::LoginRequired,
                "the person is not logged in",
                "the login is older than max_age allows",
            ));
        }
        Signed::Out(why) if params.no_prompt => {
            return Ok(refuse(
                ErrorCode::LoginRequired,
                "the person is not logged in",
                why,
            ));
        }
        _ => return Ok(Decision::Login),
    };

    // id_token_hint: the client expects one person (OIDC Core 3.1.2.1: "otherwise, it SHOULD
    // return an error, such as login_required"). Someone else signed in when the request
    // came has been sent to log in again (`validate` forces it, except under `prompt=none`),
    // so a session of someone else here is that new login, or `prompt=none`: an error.
    if let Some(hinted) = params.hint_sub.as_deref()
        && hinted != session.user_id
    {
        return Ok(refuse(
            ErrorCode::LoginRequired,
            "the signed-in person is not the one id_token_hint names",
            "another person than the id_token_hint's is signed in",
        ));
    }

    // Organisation.
    let memberships = store::orgs::memberships_of(db, &session.user_id).await?;
    let candidates: Vec<Membership> = orgs::visible_to(s.client, &memberships);
    let restricted = !s.client.organisations.is_empty();
    if restricted && candidates.is_empty() {
        return Ok(Decision::NotMember);
    }
    let wanted = s.org_choice.or(params.organization.as_deref());
    let organisation = match wanted {
        Some(key) => match candidates
            .iter()
            .find(|m| m.organisation_id == key || m.slug == key)
        {
            Some(m) => Some(m.clone()),
            None => return Ok(Decision::NotMember),
        },
        None if restricted || s.client.require_organisation => match candidates.len() {
            0 => return Ok(Decision::NotMember),
            1 => candidates.first().cloned(),
            _ if params.no_prompt => {
                return Ok(refuse(
                    ErrorCode::InteractionRequired,
                    "the person must choose an organisation",
                    "several organisations and none named (organization)",
                ));
            }
            _ => return Ok(Decision::SelectOrg(candidates)),
        },
        None => None,
    };

    // Strength: two factors when the client asks (or is registered to require them), the
    // organisation requires them, or the person's own rules do (a session made before a rule changed is stepped up).
    if !factors::is_two_factor(session) {
        let org_requires = match &organisation {
            Some(m) => store::factors::org_requires(db, &m.organisation_id).await?,
            None => false,
        };
        let needed = params.wants_two_factors()
            || s.client.require_two_factors
            || org_requires
            || factors::requirement(db, s.config, &session.user_id)
                .await?
                .required();
        if needed {
            if params.no_prompt {
                return Ok(refuse(
                    ErrorCode::InteractionRequired,
                    "a login with two factors is required",
                    "the session has one factor and two are required",
                ));
            }
            return Ok(Decision::StepUp);
        }
    }

    // What may be granted: the `admin` scope only with administrative authority within
    // the client's reach (orgs::reach), never silently to a member.
    let (scope, admin) = grantable_scope(db, s.client, &session.user_id, &params.scope).await?;
    if scope.is_empty() {
        return Ok(error(
            ErrorCode::InvalidScope,
            "the admin scope needs administrative authority this client can reach",
        ));
    }

    // Consent.
    let needed = !s.consented
        && (params.force_consent
            || (!s.client.first_party
                && !consent_covers(db, session, &params.client_id, &scope).await?));
    if needed {
        if params.no_prompt {
            return Ok(refuse(
                ErrorCode::ConsentRequired,
                "the person has not consented",
                "consent to these scopes is not on record",
            ));
        }
        return Ok(Decision::Consent {
            scopes: scope.split_whitespace().map(str::to_string).collect(),
            organisation,
            admin,
        });
    }

    Ok(Decision::Issue {
        organisation_id: organisation.map(|m| m.organisation_id),
        scope,
    })
}

/// The requested `scope` as far as it may be granted to `user_id` through `client`: the
/// `admin` scope stays only when the person holds administrative authority within the
/// client's reach (which is then returned, for the consent page to name).
pub async fn grantable_scope(
    db: &Db,
    client: &Client,
    user_id: &str,
    requested: &str,
) -> Result<(String, Option<AdminAuthority>)> {
    if !scope::has(requested, scope::ADMIN) {
        return Ok((requested.to_string(), None));
    }
    let authority = orgs::reach::admin_authority(db, user_id, client).await?;
    if authority.any() {
        return Ok((requested.to_string(), Some(authority)));
    }
    let kept: Vec<&str> = requested
        .split_whitespace()
        .filter(|s| *s != scope::ADMIN)
        .collect();
    Ok((kept.join(" "), None))
}

async fn consent_covers(db: &Db, session: &Session, client_id: &str, scope: &str) -> Result<bool> {
    let Some(granted) = store::consents::find(db, &session.user_id, client_id).await? else {
        return Ok(false);
    };
    Ok(scope.split_whitespace().all(|s| scope::has(&granted, s)))
}

/// Records consent to `scope` for `client_id`, keeping scopes consented before.
pub async fn remember_consent(
    db: &Db,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<()> {
    let previous = store::consents::find(db, user_id, client_id).await?;
    let all = scope::parse_supported(&format!("{} {scope}", previous.unwrap_or_default()));
    store::consents::upsert(db, user_id, client_id, &scope::join(&all), now).await?;
    Ok(())
}

/// The catalog key describing a scope on the consent page.
pub fn scope_text_key(scope: &str) -> &'static str {
    match scope {
        "openid" => "consent.scope_openid",
        "profile" => "consent.scope_profile",
        "email" => "consent.scope_email",
        "phone" => "consent.scope_phone",
        "orgs" => "consent.scope_orgs",
        "offline_access" => "consent.scope_offline_access",
        "admin" => "consent.scope_admin",
        _ => "consent.scope_other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_to_an_existing_query_and_encodes() {
        let got = append_query(
            "https://app.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
        );
        assert_eq!(got, "https://app.example/cb?x=1&code=a+b&state=s%26t");
        let got = append_query("https://app.example/cb", &[("iss", "https://id.example")]);
        assert_eq!(got, "https://app.example/cb?iss=https%3A%2F%2Fid.example");
    }

    #[test]
    fn parses_pairs_and_detects_repeats() {
        let pairs = parse_pairs("a=1&b=&c=2&c=3");
        assert_eq!(pairs.len(), 3);
        assert_eq!(single(&pairs, "a"), Some("1"));
        assert_eq!(single(&pairs, "b"), None);
        assert_eq!(single(&pairs, "c"), None);
    }

    #[test]
    fn acr_values_keep_the_supported_ones_in_order() {
        assert_eq!(
            parse_acr_values("urn:x urn:nyckel:acr:2fa  urn:nyckel:acr:1fa urn:nyckel:acr:2fa"),
            vec!["urn:nyckel:acr:2fa", "urn:nyckel:acr:1fa"]
        );
        assert!(parse_acr_values("urn:other").is_empty());
    }

    #[test]
    fn pkce_values() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://app.example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:5000/cb").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
