//! Processing a queued key request (called by the delivery loop for outbox rows with channel
//! `request`): find the account, apply the send limits, make the key, queue the message.
//! Every step is idempotent under the request id, so a request processed again after a crash
//! sends at most one message and leaves one key.

use serde_json::json;

use super::request::{self, KeyRequest, Purpose};
use super::secret;
use crate::crypto::sha256_b64;
use crate::error::Result;
use crate::i18n::{Locale, Texts};
use crate::mail::backend::DeliveryError;
use crate::sms::limits::{self, Ask, Channel};
use crate::sms::{SmsMessage, phone};
use crate::state::AppState;
use crate::store::{self, audit::Event, login_keys::NewKey, outbox::Claimed, users::User};

/// Processes one claimed request row. An error leaves it to be retried.
pub async fn process(state: &AppState, row: &Claimed) -> Result<(), DeliveryError> {
    let req = request::open(state, &row.id, &row.payload)
        .map_err(|_| DeliveryError("a key request could not be opened".into()))?;
    handle(state, &row.id, &req)
        .await
        .map_err(|e| DeliveryError(format!("processing a key request failed: {e}")))
}

/// Where the key goes.
enum Destination {
    Email(String),
    Sms(String),
}

impl Destination {
    fn channel(&self) -> Channel {
        match self {
            Destination::Email(_) => Channel::Email,
            Destination::Sms(_) => Channel::Sms,
        }
    }

    fn recipient(&self) -> &str {
        match self {
            Destination::Email(a) | Destination::Sms(a) => a,
        }
    }
}

/// The account and the destination a request names, if any: an email address of an active
/// account, or a phone number verified by exactly one active account.
async fn target(state: &AppState, req: &KeyRequest) -> Result<Option<(User, Destination)>> {
    let typed = req.identifier.trim();
    if typed.contains('@') {
        if !state.config.login.email_links && req.purpose == Purpose::Login {
            return Ok(None);
        }
        let user = store::users::find_by_email(&state.db, typed).await?;
        return Ok(user.filter(User::is_active).map(|u| {
            let to = u.email.clone();
            (u, Destination::Email(to))
        }));
    }
    if !state.config.login.sms_codes {
        return Ok(None);
    }
    let Some(number) = phone::normalize(typed, &state.config.sms.default_country) else {
        return Ok(None);
    };
    let mut found = store::users::find_by_verified_phone(&state.db, &number).await?;
    if found.len() != 1 {
        if found.len() > 1 {
            tracing::warn!("a phone number is verified on several accounts; no code sent");
        }
        return Ok(None);
    }
    Ok(found.pop().map(|u| (u, Destination::Sms(number))))
}

/// The language of the message: the person's own, else the page's.
fn locale(user: &User, req: &KeyRequest) -> Locale {
    user.locale
        .as_deref()
        .and_then(Locale::from_tag)
        .or_else(|| Locale::from_tag(&req.locale))
        .unwrap_or(Locale::Sv)
}

async fn handle(state: &AppState, id: &str, req: &KeyRequest) -> Result<()> {
    let now = state.now();
    let purpose = req.purpose.key_purpose();
    let audit = |kind: &'static str, user_id: Option<String>, detail: serde_json::Value| {
        let ip = req.ip.clone();
        async move {
            store::audit::append(
                &state.db,
                &Event {
                    kind,
                    user_id: user_id.as_deref(),
                    ip: Some(&ip),
                    detail,
                    ..Default::default()
                },
                now,
            )
            .await
        }
    };
    let Some((user, dest)) = target(state, req).await? else {
        audit("login_key.unknown", None, json!({ "purpose": purpose })).await?;
        tracing::info!(purpose, "key requested for no account; nothing sent");
        return Ok(());
    };
    let channel = dest.channel();
    let ttl = match (req.purpose, channel) {
        (_, Channel::Sms) => state.config.login.code_ttl,
        (Purpose::Login, Channel::Email) => state.config.login.link_ttl,
        (Purpose::Reset, Channel::Email) => state.config.admin.reset_ttl,
    };
    if now >= req.requested_at + ttl {
        // Asked for so long ago (the server was down) that the key would be dead on arrival.
        audit(
            "login_key.late",
            Some(user.id.clone()),
            json!({ "purpose": purpose }),
        )
        .await?;
        return Ok(());
    }
    let ask = Ask {
        id,
        // Anyone can ask: the anonymous budget, never spent by (or stopping) the messages
        // of people who proved a factor (`sms::limits`).
        purpose: match req.purpose {
            Purpose::Login => limits::Purpose::LoginKey,
            Purpose::Reset => limits::Purpose::Recovery,
        },
        channel,
        recipient: &match &dest {
            Destination::Email(a) => store::users::normalize_email(a),
            Destination::Sms(n) => n.clone(),
        },
        ip: Some(&req.ip),
        person: None,
        organisation_id: req.organisation_id.as_deref(),
    };
    if let Err(refused) = limits::admit(state, &ask).await? {
        audit(
            "login_key.refused",
            Some(user.id.clone()),
            json!({ "purpose": purpose, "channel": channel.as_str(), "reason": refused.reason.as_str() }),
        )
        .await?;
        return Ok(());
    }

    let key = secret::link_key(state, id);
    let key_hash = sha256_b64(&key);
    let code = secret::code(state, id, state.config.login.code_digits);
    let code_hash = secret::code_hash(state, &key_hash, &code);
    let replaced = store::login_keys::replace(
        &state.db,
        &NewKey {
            key_hash: &key_hash,
            purpose,
            user_id: Some(&user.id),
            email: matches!(dest, Destination::Email(_)).then_some(dest.recipient()),
            phone: matches!(dest, Destination::Sms(_)).then_some(dest.recipient()),
            channel: channel.as_str(),
            binding_hash: Some(&req.binding_hash),
            code_hash: Some(&code_hash),
            next: req.next.as_deref(),
            expires_at: now + ttl,
        },
        now,
    )
    .await?;

    let t = Texts::new(locale(&user, req));
    let message_id = format!("{id}.m");
    match &dest {
        Destination::Email(to) => {
            let letter = match req.purpose {
                Purpose::Login => {
                    let link = state.url(&format!("{}{key}", super::LINK_PATH));
                    crate::mail::compose_keys::login_link(t, &user, &link, &code, ttl)
                }
                Purpose::Reset => {
                    let link = state.url(&format!("{}{key}", crate::auth::reset::PATH));
                    crate::mail::compose_keys::self_reset(t, &user, &link, &code, ttl)
                }
            };
            crate::mail::enqueue_as(state, &message_id, &letter.to_message(to)?).await?;
        }
        Destination::Sms(to) => {
            let body = match req.purpose {
                Purpose::Login => crate::sms::texts::login_code(t, state, &code, ttl),
                Purpose::Reset => crate::sms::texts::reset_code(t, state, &code, ttl),
            };
            crate::sms::enqueue(state, &message_id, &SmsMessage::new(to, body)?).await?;
        }
    }
    audit(
        "login_key.sent",
        Some(user.id.clone()),
        json!({ "purpose": purpose, "channel": channel.as_str(), "replaced": replaced, "expires_at": now + ttl }),
    )
    .await?;
    tracing::info!(user_id = %user.id, purpose, channel = channel.as_str(), "key sent");
    Ok(())
}
