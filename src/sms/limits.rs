//! Send limits against SMS pumping and mailbox flooding (SECURITY.md P4, P6). Every message
//! with a key that a person asks for passes [`admit`] first: a cooldown and a daily cap per
//! recipient, a daily cap per IP address, and for SMS also a country allowlist and daily caps
//! per organisation, per country calling code and in all. A refused message is recorded and
//! simply not sent: the person who asked sees exactly what they would have seen otherwise.
//! Reaching the global SMS cap stops SMS and raises an alert in the log and the counters.
//!
//! Decisions are recorded per request id, so a request processed twice (after a crash) gets
//! the same decision and counts once.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::crypto::b64;
use crate::error::Result;
use crate::sms::phone;
use crate::state::AppState;
use crate::store::message_sends::{self, NewSend, Scope};

/// A day, in seconds.
const DAY: i64 = 86400;

/// The channel a message goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A message someone asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The request's id (deciding it again gives the same answer).
    pub id: &'a str,
    pub channel: Channel,
    /// A normalised email address, or an E.164 number.
    pub recipient: &'a str,
    /// Who asked.
    pub ip: Option<&'a str>,
    /// The organisation the message is for, if any.
    pub organisation_id: Option<&'a str>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Cooldown,
    RecipientDaily,
    IpDaily,
    OrganisationDaily,
    CountryNotAllowed,
    CountryDaily,
    GlobalDaily,
    /// Decided (refused) earlier for this request.
    Earlier,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Cooldown => "cooldown",
            Refusal::RecipientDaily => "recipient_daily",
            Refusal::IpDaily => "ip_daily",
            Refusal::OrganisationDaily => "organisation_daily",
            Refusal::CountryNotAllowed => "country_not_allowed",
            Refusal::CountryDaily => "country_daily",
            Refusal::GlobalDaily => "global_daily",
            Refusal::Earlier => "earlier",
        }
    }
}

/// Counters since start, for the metrics.
#[derive(Debug, Default)]
pub struct Counters {
    pub sms_sent: AtomicU64,
    pub sms_refused: AtomicU64,
    pub email_sent: AtomicU64,
    pub email_refused: AtomicU64,
    /// Times the global SMS cap stopped a message.
    pub sms_global_cap_hits: AtomicU64,
}

/// This process's counters.
pub static COUNTERS: Counters = Counters {
    sms_sent: AtomicU64::new(0),
    sms_refused: AtomicU64::new(0),
    email_sent: AtomicU64::new(0),
    email_refused: AtomicU64::new(0),
    sms_global_cap_hits: AtomicU64::new(0),
};

/// The keyed hash under which a recipient is counted.
pub fn recipient_hash(state: &AppState, recipient: &str) -> String {
    b64(&state.keys.mac("send-limits", recipient.as_bytes()))
}

/// Decides whether the message may be sent, and records the decision.
pub async fn admit(state: &AppState, ask: &Ask<'_>) -> Result<Result<(), Refusal>> {
    if let Some(sent) = message_sends::decided(&state.db, ask.id).await? {
        return Ok(if sent { Ok(()) } else { Err(Refusal::Earlier) });
    }
    let now = state.now();
    let hash = recipient_hash(state, ask.recipient);
    let country = match ask.channel {
        Channel::Sms => phone::country_code(ask.recipient),
        Channel::Email => None,
    };
    let verdict = decide(state, ask, &hash, country, now).await?;
    let recorded = message_sends::record(
        &state.db,
        &NewSend {
            id: ask.id,
            channel: ask.channel.as_str(),
            recipient_hash: &hash,
            ip: ask.ip,
            organisation_id: ask.organisation_id,
            country,
            sent: verdict.is_ok(),
        },
        now,
    )
    .await?;
    let verdict = if recorded {
        Ok(())
    } else {
        verdict.and(Err(Refusal::Earlier))
    };
    let (sent, refused) = match ask.channel {
        Channel::Sms => (&COUNTERS.sms_sent, &COUNTERS.sms_refused),
        Channel::Email => (&COUNTERS.email_sent, &COUNTERS.email_refused),
    };
    match verdict {
        Ok(()) => sent.fetch_add(1, Ordering::Relaxed),
        Err(reason) => {
            tracing::info!(
                channel = ask.channel.as_str(),
                reason = reason.as_str(),
                "message refused by the send limits"
            );
            refused.fetch_add(1, Ordering::Relaxed)
        }
    };
    Ok(verdict)
}

/// The limits, checked in order.
async fn decide(
    state: &AppState,
    ask: &Ask<'_>,
    hash: &str,
    country: Option<&str>,
    now: i64,
) -> Result<Result<(), Refusal>> {
    let db = &state.db;
    let channel = ask.channel.as_str();
    let since = now - DAY;
    let (cooldown, per_recipient, per_ip) = match ask.channel {
        Channel::Sms => {
            let s = &state.config.sms;
            (s.cooldown, s.per_number_daily, s.per_ip_daily)
        }
        Channel::Email => {
            let l = &state.config.login;
            (l.email_cooldown, l.email_daily, l.per_ip_daily)
        }
    };
    if ask.channel == Channel::Sms {
        let allowed =
            country.is_some_and(|c| state.config.sms.allowed_countries.iter().any(|a| a == c));
        if !allowed {
            return Ok(Err(Refusal::CountryNotAllowed));
        }
    }
    if let Some(last) = message_sends::last_sent_to(db, channel, hash).await? {
        if now - last < cooldown {
            return Ok(Err(Refusal::Cooldown));
        }
    }
    if message_sends::count_sent(db, channel, Scope::Recipient(hash), since).await? >= per_recipient
    {
        return Ok(Err(Refusal::RecipientDaily));
    }
    if let Some(ip) = ask.ip {
        if message_sends::count_sent(db, channel, Scope::Ip(ip), since).await? >= per_ip {
            return Ok(Err(Refusal::IpDaily));
        }
    }
    if ask.channel == Channel::Email {
        return Ok(Ok(()));
    }
    let s = &state.config.sms;
    if let Some(org) = ask.organisation_id {
        if message_sends::count_sent(db, channel, Scope::Organisation(org), since).await?
            >= s.per_org_daily
        {
            return Ok(Err(Refusal::OrganisationDaily));
        }
    }
    if let Some(c) = country {
        if message_sends::count_sent(db, channel, Scope::Country(c), since).await?
            >= s.per_country_daily
        {
            return Ok(Err(Refusal::CountryDaily));
        }
    }
    if message_sends::count_sent(db, channel, Scope::All, since).await? >= s.global_daily {
        COUNTERS.sms_global_cap_hits.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            global_daily = s.global_daily,
            "ALERT: the global daily SMS cap (sms.global_daily) is reached; no SMS is sent until the count falls below it. Check for SMS pumping (many numbers, unusual countries) in the audit log"
        );
        return Ok(Err(Refusal::GlobalDaily));
    }
    Ok(Ok(()))
}
