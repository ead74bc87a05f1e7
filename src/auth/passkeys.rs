//! Passkeys (WebAuthn, webauthn-rs): registration from the account page, login with a passkey
//! instead of a password (the email typed first, or discoverable from the browser's autofill
//! list), and listing, renaming and removing them. No axum types.
//!
//! - The relying party is the issuer (its host is the RP ID, its origin the accepted origin)
//!   unless `[passkeys]` says otherwise; see [`relying_party`]. An issuer that cannot be one
//!   (an IP address) starts the installation with passkeys off (`AppState::webauthn` is
//!   `None`, [`relying_party_at_start`]); every ceremony then fails with
//!   [`Error::PasskeysOff`], and the HTTP layer answers before it gets here.
//! - User verification is REQUIRED in every ceremony, so a passkey login is two factors
//!   (something held, and a PIN or biometric): `amr` [`AMR_PASSKEY`] + `mfa`.
//! - Challenges are rows in `webauthn_challenges` (any node finishes what another started),
//!   bound to the browser context that asked (`binding`: an opaque hash the HTTP layer
//!   derives), valid `passkeys.challenge_ttl` seconds, used at most once (one atomic statement,
//!   `store::webauthn_challenges::consume`). A refused finish uses the challenge up.
//! - Email first: whether an address has an account (or passkeys) is never told. An unknown
//!   address gets options of the same shape, with a stable fake list of credential ids
//!   derived under a master-derived key (webauthn-rs's fake credential generator).
//! - The webauthn-rs user handle is derived from the account id (SHA-256, 16 bytes); the
//!   stored `Passkey` JSON holds the public key, counter and backup state: nothing secret.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Host;
use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::auth::audit_person_in as audit_in;
use crate::auth::throttle::{self, Decision};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::crypto::{b64, random_id, random_token, sha256};
use crate::error::{Error, Result};
use crate::i18n::Texts;
use crate::mail::compose::locale_for;
use crate::mail::compose_passkeys;
use crate::state::AppState;
use crate::store::{
    self, Tx,
    passkeys::{CREDENTIAL_UNIQUE, PasskeyRow},
    users::{User, normalize_email},
    webauthn_challenges::{AUTHENTICATE, ChallengeRow, REGISTER},
};

/// The `amr` of a passkey login (RFC 8176: proof of possession of a hardware-secured key).
pub const AMR_PASSKEY: &str = "hwk";

/// The `amr` that accompanies [`AMR_PASSKEY`]: user verification made it two factors.
pub use crate::auth::factors::AMR_MFA;

/// The longest passkey name kept (longer names are cut).
pub const MAX_NAME: usize = 64;

/// A ceremony begun: the challenge to finish it with, and the options for the browser's
/// `navigator.credentials.create()`/`get()` (JSON, binary values base64url).
#[derive(Debug, Clone)]
pub struct Started {
    pub challenge_id: String,
    pub options: Value,
}

/// A passkey login that passed: whose, and which passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: String,
    pub passkey_id: String,
}

/// Why a ceremony was refused (for the audit log; people see one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, used or expired challenge, or one issued to another browser context.
    UnknownChallenge,
    /// The browser's answer did not verify (wrong origin, signature, missing user
    /// verification, malformed).
    Invalid,
    /// No (longer a) stored passkey with this credential id.
    UnknownCredential,
    /// The challenge or passkey belongs to someone else.
    WrongUser,
    /// The account is disabled.
    Disabled,
    /// This credential is registered already.
    Duplicate,
}

impl Refused {
    /// The audit `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::UnknownChallenge => "unknown_challenge",
            Refused::Invalid => "invalid",
            Refused::UnknownCredential => "unknown_credential",
            Refused::WrongUser => "wrong_user",
            Refused::Disabled => "disabled",
            Refused::Duplicate => "duplicate",
        }
    }
}

/// A passkey as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

impl From<&PasskeyRow> for PasskeyInfo {
    fn from(r: &PasskeyRow) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// The server side of a ceremony, stored with its challenge.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum Ceremony {
    Register(PasskeyRegistration),
    /// Login with the person's passkeys listed (email first, or a signed-in person).
    Listed(PasskeyAuthentication),
    /// Login with whatever passkey the browser offers (autofill, or an unknown email).
    Discoverable(DiscoverableAuthentication),
}

/// Why no WebAuthn relying party could be made for the configuration.
#[derive(Debug, thiserror::Error)]
pub enum RelyingPartyError {
    /// The relying party would be the issuer, whose host is an IP address: WebAuthn needs a
    /// domain name as RP ID (browsers refuse IP addresses).
    #[error(
        "the issuer's host {host} is an IP address, and WebAuthn needs a domain name as its relying party id"
    )]
    IpAddressIssuer { host: String },
    /// The relying party would be the issuer, and webauthn-rs refused it.
    #[error("the issuer {issuer} cannot be a WebAuthn relying party: {reason}")]
    Issuer { issuer: String, reason: String },
    /// `passkeys.rp_id` or `passkeys.origins` is set, and they do not make a relying party.
    #[error("{0}")]
    Configured(String),
}

impl RelyingPartyError {
    /// Whether the operator configured this relying party (`[passkeys] rp_id` or `origins`):
    /// then it must work, and the start fails rather than silently switching passkeys off.
    pub fn is_configured(&self) -> bool {
        matches!(self, RelyingPartyError::Configured(_))
    }
}

/// The WebAuthn relying party for `config`: RP ID `passkeys.rp_id` or the issuer's host;
/// origins `passkeys.origins` or the issuer's origin.
pub fn relying_party(config: &Config) -> Result<Webauthn, RelyingPartyError> {
    let configured = config.passkeys.rp_id.is_some() || !config.passkeys.origins.is_empty();
    let issuer_text = config.issuer();
    let bad = |reason: String| {
        if configured {
            RelyingPartyError::Configured(reason)
        } else {
            RelyingPartyError::Issuer {
                issuer: issuer_text.clone(),
                reason,
            }
        }
    };
    let issuer = Url::parse(&issuer_text).map_err(|e| bad(format!("issuer: {e}")))?;
    let rp_id = match (&config.passkeys.rp_id, issuer.host()) {
        (Some(id), _) => id.clone(),
        (None, Some(Host::Domain(host))) => host.to_string(),
        (None, Some(Host::Ipv4(_) | Host::Ipv6(_))) if !configured => {
            return Err(RelyingPartyError::IpAddressIssuer {
                host: issuer.host_str().unwrap_or_default().to_string(),
            });
        }
        (None, Some(_)) => {
            return Err(bad(
                "passkeys.rp_id is needed: the issuer's host is an IP address".into(),
            ));
        }
        (None, None) => return Err(bad("the issuer has no host".into())),
    };
    let mut origins = config
        .passkeys
        .origins
        .iter()
        .map(|o| Url::parse(o).map_err(|e| bad(format!("passkeys.origins: {o}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if origins.is_empty() {
        let origin = issuer.origin().ascii_serialization();
        origins.push(Url::parse(&origin).map_err(|e| bad(e.to_string()))?);
    }
    let mut builder = WebauthnBuilder::new(&rp_id, &origins[0])
        .map_err(|e| {
            bad(format!(
                "passkeys.rp_id {rp_id:?} does not fit the origin {} (passkeys.origins, by default the issuer's origin): {e}",
                origins[0]
            ))
        })?
        .rp_name("Nyckel")
        .timeout(std::time::Duration::from_secs(
            config.passkeys.challenge_ttl.max(30) as u64,
        ));
    for o in &origins[1..] {
        builder = builder.append_allowed_origin(o);
    }
    builder.build().map_err(|e| bad(e.to_string()))
}

/// The relying party at start, or `None`: passkeys are off, because the relying party would
/// be an issuer that cannot be one (an IP address). That is logged once, as a warning naming
/// the keys to set; an operator's `[passkeys]` that does not work is an error instead.
pub fn relying_party_at_start(config: &Config) -> Result<Option<Webauthn>> {
    match relying_party(config) {
        Ok(rp) => Ok(Some(rp)),
        Err(e) if e.is_configured() => Err(e.into()),
        Err(e) => {
            tracing::warn!(
                "passkeys are off: {e}. Passkey sign-in and the passkeys page are not offered. To use passkeys, give the issuer a domain name (http://localhost:PORT on one machine), or set passkeys.rp_id and passkeys.origins (NYCKEL_PASSKEYS__RP_ID, NYCKEL_PASSKEYS__ORIGINS) to the domain people reach Nyckel on"
            );
            Ok(None)
        }
    }
}

/// The relying party, or [`Error::PasskeysOff`] (the HTTP layer answers before this).
fn rp(state: &AppState) -> Result<&Webauthn> {
    state.webauthn.as_ref().ok_or(Error::PasskeysOff)
}

/// The WebAuthn user handle of an account: 16 bytes of SHA-256 over its id.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = sha256(format!("nyckel-passkey-user:{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// A new challenge id: 256 random bits, base64url.
fn challenge_id() -> String {
    random_token(32)
}

async fn active_user(state: &AppState, user_id: &str) -> Result<Option<User>> {
    Ok(store::users::find(&state.db, user_id)
        .await?
        .filter(User::is_active))
}

fn passkeys_of(rows: &[PasskeyRow]) -> Vec<Passkey> {
    rows.iter()
        .filter_map(|r| match serde_json::from_str::<Passkey>(&r.credential) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(passkey = %r.id, error = %crate::error::Chain(&e), "a stored passkey does not parse");
                None
            }
        })
        .collect()
}

/// Stores the ceremony under a new challenge id.
async fn issue(
    state: &AppState,
    purpose: &str,
    user_id: Option<&str>,
    binding: &str,
    ceremony: &Ceremony,
    options: Value,
) -> Result<Started> {
    let now = state.now();
    let row = ChallengeRow {
        id: challenge_id(),
        purpose: purpose.to_string(),
        user_id: user_id.map(str::to_string),
        binding: binding.to_string(),
        state: serde_json::to_string(ceremony)?,
        created_at: now,
        expires_at: now + state.config.passkeys.challenge_ttl,
    };
    store::webauthn_challenges::insert(&state.db, &row).await?;
    Ok(Started {
        challenge_id: row.id,
        options,
    })
}

/// Begins registering a new passkey for `user_id` (who must exist and be active; the HTTP
/// layer checks the fresh login). The person's passkeys are excluded, so one authenticator
/// is not registered twice.
pub async fn start_registration(state: &AppState, user_id: &str, binding: &str) -> Result<Started> {
    let user = active_user(state, user_id)
        .await?
        .ok_or_else(|| Error::Corrupt("registering a passkey for no active account".into()))?;
    let existing = passkeys_of(&store::passkeys::list_for_user(&state.db, user_id).await?);
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
    let display = user.name.clone().unwrap_or_else(|| user.email.clone());
    let (options, registration) = rp(state)?
        .start_passkey_registration(user_handle(user_id), &user.email, &display, Some(exclude))
        .map_err(|e| Error::Crypto(format!("passkey registration: {e}")))?;
    let mut options = serde_json::to_value(options)?;
    prefer_discoverable(&mut options);
    let ceremony = Ceremony::Register(registration);
    issue(state, REGISTER, Some(user_id), binding, &ceremony, options).await
}

/// Asks authenticators for a discoverable credential where they can make one (`residentKey:
/// "preferred"`; webauthn-rs says "discouraged"), so the passkey also works from the autofill
/// list and without typing the email. Nothing on the server depends on it.
fn prefer_discoverable(options: &mut Value) {
    if let Some(sel) = options
        .get_mut("publicKey")
        .and_then(|pk| pk.get_mut("authenticatorSelection"))
        .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), json!("preferred"));
        sel.insert("requireResidentKey".into(), json!(false));
    }
}

/// Finishes a registration begun by [`start_registration`] for the same person and browser
/// context: verifies the browser's answer and stores the passkey under `name` (trimmed, cut
/// to [`MAX_NAME`] characters; empty becomes "Passkey"), records `passkey.added` and tells
/// the person by mail, in one transaction. A refusal uses the challenge up.
pub async fn finish_registration(
    state: &AppState,
    user_id: &str,
    binding: &str,
    challenge_id: &str,
    name: &str,
    credential: &Value,
    ip: &str,
) -> Result<std::result::Result<PasskeyInfo, Refused>> {
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let Some(row) =
        store::webauthn_challenges::consume(&mut tx, challenge_id, REGISTER, binding, now).await?
    else {
        return Ok(Err(Refused::UnknownChallenge));
    };
    // Past here a refusal still uses the challenge up: its transaction commits.
    let refuse = |tx: Tx<'static>, refused: Refused| async move {
        tx.commit().await?;
        Ok::<_, Error>(Err(refused))
    };
    if row.user_id.as_deref() != Some(user_id) {
        return refuse(tx, Refused::WrongUser).await;
    }
    let Ceremony::Register(registration) = serde_json::from_str(&row.state)? else {
        return Err(Error::Corrupt(
            "a registration challenge without its state".into(),
        ));
    };
    let Ok(answer) = serde_json::from_value::<RegisterPublicKeyCredential>(credential.clone())
    else {
        return refuse(tx, Refused::Invalid).await;
    };
    let passkey = match rp(state)?.finish_passkey_registration(&answer, &registration) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(user_id = %user_id, error = %crate::error::Chain(&e), "passkey registration refused");
            return refuse(tx, Refused::Invalid).await;
        }
    };
    let Some(user) = active_user(state, user_id).await? else {
        return refuse(tx, Refused::Disabled).await;
    };
    let stored = PasskeyRow {
        id: random_id(),
        user_id: user_id.to_string(),
        credential_id: b64(passkey.cred_id().as_ref()),
        name: clean_name(name),
        credential: serde_json::to_string(&passkey)?,
        created_at: now,
        last_used_at: None,
    };
    let info = PasskeyInfo::from(&stored);
    let letter = notice(state, &user, Notice::Added, &info.name).await?;
    // A savepoint: on PostgreSQL a failed statement would abort the whole transaction.
    let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
    match store::passkeys::insert(&mut attempt, &stored).await {
        Ok(()) => attempt.commit().await?,
        Err(e) if store::is_unique_violation(&e, CREDENTIAL_UNIQUE) => {
            attempt.rollback().await?;
            return refuse(tx, Refused::Duplicate).await;
        }
        Err(e) => return Err(e.into()),
    }
    let detail = json!({ "passkey": info.id, "name": info.name });
    audit_in(&mut tx, state, "passkey.added", user_id, ip, detail).await?;
    crate::mail::enqueue_in(&mut tx, state, &letter).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user_id, passkey = %info.id, "passkey added");
    Ok(Ok(info))
}

/// Begins a passkey login. `Some(user_id)`: the person's passkeys are listed (a person without
/// any gets the same shape of options with a fake list: see [`start_authentication_for_email`]);
/// `None`: any discoverable passkey (autofill / conditional UI, or the passkey button).
pub async fn start_authentication(
    state: &AppState,
    user_id: Option<&str>,
    binding: &str,
) -> Result<Started> {
    match user_id {
        None => {
            let (options, auth) = rp(state)?
                .start_discoverable_authentication()
                .map_err(|e| Error::Crypto(format!("passkey login: {e}")))?;
            let options = serde_json::to_value(options)?;
            let ceremony = Ceremony::Discoverable(auth);
            issue(state, AUTHENTICATE, None, binding, &ceremony, options).await
        }
        Some(user_id) => {
            let rows = match active_user(state, user_id).await? {
                Some(_) => store::passkeys::list_for_user(&state.db, user_id).await?,
                None => Vec::new(),
            };
            listed(state, Some(user_id), &passkeys_of(&rows), user_id, binding).await
        }
    }
}

/// Begins a passkey login for the typed email address. Known or not, with passkeys or not:
/// the answer has the same shape and status (an unknown address gets a stable fake list).
pub async fn start_authentication_for_email(
    state: &AppState,
    email: &str,
    binding: &str,
) -> Result<Started> {
    let normalized = normalize_email(email.trim());
    let user = match store::users::find_by_email(&state.db, email.trim()).await? {
        Some(u) if u.is_active() => Some(u),
        _ => None,
    };
    let passkeys = match &user {
        Some(u) => passkeys_of(&store::passkeys::list_for_user(&state.db, &u.id).await?),
        None => Vec::new(),
    };
    let user_id = user.as_ref().map(|u| u.id.as_str());
    listed(state, user_id, &passkeys, &normalized, binding).await
}

/// A login listing `passkeys`; without any, a discoverable ceremony whose options list fake
/// credential ids derived from `fake_seed`. Options are normalised so both look alike.
async fn listed(
    state: &AppState,
    user_id: Option<&str>,
    passkeys: &[Passkey],
    fake_seed: &str,
    binding: &str,
) -> Result<Started> {
    let crypto =
        |e: webauthn_rs::prelude::WebauthnError| Error::Crypto(format!("passkey login: {e}"));
    let (mut options, ceremony, ids, bound_user) = if passkeys.is_empty() {
        let (options, auth) = rp(state)?
            .start_discoverable_authentication()
            .map_err(crypto)?;
        let key = state.keys.mac("passkey-fake-credentials", b"");
        let fakes = WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(&key)
            .and_then(|g| g.generate(fake_seed.as_bytes()))
            .map_err(crypto)?;
        let ids: Vec<String> = fakes.iter().map(|c| b64(c.as_ref())).collect();
        (
            serde_json::to_value(options)?,
            Ceremony::Discoverable(auth),
            ids,
            None,
        )
    } else {
        let (options, auth) = rp(state)?
            .start_passkey_authentication(passkeys)
            .map_err(crypto)?;
        let ids = passkeys.iter().map(|p| b64(p.cred_id().as_ref())).collect();
        (
            serde_json::to_value(options)?,
            Ceremony::Listed(auth),
            ids,
            user_id,
        )
    };
    normalise_listed(&mut options, &ids);
    issue(state, AUTHENTICATE, bound_user, binding, &ceremony, options).await
}

/// One shape for listed logins: the allow list as `{type, id}` only, no mediation, no
/// extensions or hints (which would tell a fake list from a real one).
fn normalise_listed(options: &mut Value, ids: &[String]) {
    if let Some(o) = options.as_object_mut() {
        o.remove("mediation");
    }
    if let Some(pk) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
        pk.remove("extensions");
        pk.remove("hints");
        pk.insert(
            "allowCredentials".into(),
            ids.iter()
                .map(|id| json!({ "type": "public-key", "id": id }))
                .collect(),
        );
    }
}

/// Finishes a login begun by [`start_authentication`] (or `_for_email`) in the same browser
/// context: verifies the browser's answer against the stored passkey, then records the use
/// (updated counter and backup state, `last_used_at`). Disabled accounts are refused.
pub async fn finish_authentication(
    state: &AppState,
    binding: &str,
    challenge_id: &str,
    credential: &Value,
) -> Result<std::result::Result<Verified, Refused>> {
    let now = state.now();
    let Some(row) =
        store::webauthn_challenges::consume(&state.db, challenge_id, AUTHENTICATE, binding, now)
            .await?
    else {
        return Ok(Err(Refused::UnknownChallenge));
    };
    let webauthn = rp(state)?;
    let ceremony: Ceremony = serde_json::from_str(&row.state)?;
    let Ok(answer) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
        return Ok(Err(Refused::Invalid));
    };
    let credential_id = b64(answer.get_credential_id());
    let Some(stored) = store::passkeys::find_by_credential(&state.db, &credential_id).await? else {
        return Ok(Err(Refused::UnknownCredential));
    };
    if row.user_id.as_deref().is_some_and(|u| u != stored.user_id) {
        return Ok(Err(Refused::WrongUser));
    }
    let mut passkey: Passkey = serde_json::from_str(&stored.credential)?;
    let checked = match ceremony {
        Ceremony::Listed(auth) => webauthn.finish_passkey_authentication(&answer, &auth),
        Ceremony::Discoverable(auth) => {
            match webauthn.identify_discoverable_authentication(&answer) {
                Ok((handle, _)) if handle == user_handle(&stored.user_id) => {
                    let key = DiscoverableKey::from(&passkey);
                    webauthn.finish_discoverable_authentication(&answer, auth, &[key])
                }
                Ok(_) => return Ok(Err(Refused::WrongUser)),
                Err(_) => return Ok(Err(Refused::Invalid)),
            }
        }
        Ceremony::Register(_) => {
            return Err(Error::Corrupt(
                "a login challenge with a registration state".into(),
            ));
        }
    };
    let result = match checked {
        Ok(r) if r.user_verified() => r,
        Ok(_) => return Ok(Err(Refused::Invalid)),
        Err(e) => {
            tracing::info!(passkey = %stored.id, error = %crate::error::Chain(&e), "passkey login refused");
            return Ok(Err(Refused::Invalid));
        }
    };
    if active_user(state, &stored.user_id).await?.is_none() {
        return Ok(Err(Refused::Disabled));
    }
    passkey.update_credential(&result);
    let updated = serde_json::to_string(&passkey)?;
    if !store::passkeys::record_use(&state.db, &stored.id, &updated, now).await? {
        // Removed while the login was in progress.
        return Ok(Err(Refused::UnknownCredential));
    }
    Ok(Ok(Verified {
        user_id: stored.user_id,
        passkey_id: stored.id,
    }))
}

/// Seconds until the browser's address may try a passkey login again, when failed logins from
/// it (password and passkey failures share the per-IP counter of `[throttle]`) hold it back.
pub async fn login_throttled(state: &AppState, ip: std::net::IpAddr) -> Result<Option<i64>> {
    let by_ip = store::throttle::get(&state.db, &throttle::ip_key(ip)).await?;
    let none = store::throttle::Counter {
        failures: 0,
        last_failure_at: 0,
    };
    Ok(
        match throttle::decide(none, by_ip, &state.config.throttle, state.now()) {
            Decision::Throttled { retry_after } => Some(retry_after.max(1)),
            Decision::Allow => None,
        },
    )
}

/// Counts a refused passkey login against the browser's address.
pub async fn login_failed(state: &AppState, ip: std::net::IpAddr) -> Result<()> {
    let reset_after = state.config.throttle.hard_stop_window;
    store::throttle::record_failure(&state.db, &throttle::ip_key(ip), state.now(), reset_after)
        .await?;
    Ok(())
}

/// A name as stored: trimmed, control characters dropped, at most [`MAX_NAME`] characters;
/// empty becomes "Passkey".
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() {
        "Passkey".to_string()
    } else {
        cleaned
    }
}

/// A person's passkeys, oldest first.
pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<PasskeyInfo>> {
    Ok(store::passkeys::list_for_user(&state.db, user_id)
        .await?
        .iter()
        .map(PasskeyInfo::from)
        .collect())
}

/// Renames the passkey `id` of `user_id`; false when the person has no such passkey.
pub async fn rename(
    state: &AppState,
    user_id: &str,
    id: &str,
    name: &str,
    ip: &str,
) -> Result<bool> {
    let name = clean_name(name);
    let mut tx = state.db.begin().await?;
    if !store::passkeys::rename(&mut tx, user_id, id, &name).await? {
        return Ok(false);
    }
    let detail = json!({ "passkey": id, "name": name });
    audit_in(&mut tx, state, "passkey.renamed", user_id, ip, detail).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes the passkey `id` of `user_id` (audit `passkey.removed`, a mail to the person);
/// `None` when the person has no such passkey (nothing changes).
pub async fn remove(
    state: &AppState,
    user_id: &str,
    id: &str,
    ip: &str,
) -> Result<Option<PasskeyInfo>> {
    let Some(user) = store::users::find(&state.db, user_id).await? else {
        return Ok(None);
    };
    // The removal, its audit event and the notice: one transaction.
    let mut tx = state.db.begin().await?;
    let Some(row) = store::passkeys::delete(&mut tx, user_id, id).await? else {
        return Ok(None);
    };
    let info = PasskeyInfo::from(&row);
    let detail = json!({ "passkey": info.id, "name": info.name });
    audit_in(&mut tx, state, "passkey.removed", user_id, ip, detail).await?;
    let letter = notice(state, &user, Notice::Removed, &info.name).await?;
    crate::mail::enqueue_in(&mut tx, state, &letter).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user_id, passkey = %info.id, "passkey removed");
    Ok(Some(info))
}

/// Which notice to send.
#[derive(Debug, Clone, Copy)]
enum Notice {
    Added,
    Removed,
}

/// The mail to the person about a passkey added to or removed from their account, queued in
/// the change's transaction. Notices are not held back by the send limits (as
/// `auth::channels` notices): a person must hear about it.
async fn notice(
    state: &AppState,
    user: &User,
    notice: Notice,
    name: &str,
) -> Result<crate::mail::message::Message> {
    let t = Texts::new(locale_for(&state.db, user, None).await);
    let letter = match notice {
        Notice::Added => compose_passkeys::added(t, user, name),
        Notice::Removed => compose_passkeys::removed(t, user, name),
    };
    letter.to_message(&user.email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  Min telefon \n"), "Min telefon");
        assert_eq!(clean_name(""), "Passkey");
        assert_eq!(clean_name("\u{7}"), "Passkey");
        assert_eq!(clean_name(&"x".repeat(200)).chars().count(), MAX_NAME);
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_handle("a"), user_handle("a"));
        assert_ne!(user_handle("a"), user_handle("b"));
    }

    #[test]
    fn listed_options_have_one_shape() {
        let mut o = json!({
            "publicKey": {
                "challenge": "c",
                "allowCredentials": [{"type": "public-key", "id": "x", "transports": ["usb"]}],
                "extensions": {"uvm": true},
                "userVerification": "required"
            },
            "mediation": "conditional"
        });
        normalise_listed(&mut o, &["y".to_string()]);
        assert_eq!(
            o,
            json!({
                "publicKey": {
                    "challenge": "c",
                    "allowCredentials": [{"type": "public-key", "id": "y"}],
                    "userVerification": "required"
                }
            })
        );
    }
}
