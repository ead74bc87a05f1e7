//! Send limits against SMS pumping and mailbox flooding (SECURITY.md P4, P6). Every message
//! with a key that a person asks for passes [`admit`] first, which records the decision. This
//! module owns the budgets and the caps; it sends nothing and renders nothing.
//!
//! # Budgets: who asked, and what they proved
//!
//! Every [`Ask`] names its [`Purpose`], and each purpose spends one [`Budget`]:
//!
//! | Budget | Purposes | Who asks | Recipient |
//! |---|---|---|---|
//! | `anonymous` | [`Purpose::LoginKey`], [`Purpose::Recovery`] | anyone; nothing proved | whatever was typed (only verified numbers get SMS) |
//! | `own_channel` | [`Purpose::SecondFactor`], [`Purpose::RecoveryFactor`] | someone who proved a factor of the account (its password, a login key, a reset key) | the account's own verified number or address |
//! | `new_channel` | [`Purpose::VerifyChannel`] | a signed-in person (fresh login), or a login step enrolling its second factor | a number or address that person names |
//!
//! The cooldown, the cap per recipient and the cap per asker are counted **within one
//! budget**. Before this split one count covered everything, and strangers could switch off
//! an administrator's SMS second factor for a day: five anonymous login-key requests naming
//! the number spent its daily cap, one spent its cooldown, and one member behind a club's
//! shared address spent the address's cap on random numbers (issue 14). Now:
//!
//! - `anonymous`: `sms.cooldown`, `sms.per_number_daily` per number and `sms.per_ip_daily`
//!   per address (the P6 numbers; login and recovery requests share them, so everything
//!   strangers can trigger stays at 5 a day per number). Nothing here is spent by, or
//!   stops, the other budgets.
//! - `own_channel`: `sms.cooldown` and `sms.per_person_daily` per recipient and per person.
//!   Only someone who proved a factor of the account reaches it, so strangers cannot spend
//!   it; the recipient is a number that was already verified, so it cannot be pointed at a
//!   premium range that was not. There is no cap per IP address: the person is known, and an
//!   address may be shared by a whole club.
//! - `new_channel`: `sms.cooldown` and `sms.per_number_daily` per recipient (the number is
//!   chosen by the asker, as in `anonymous`), and `sms.per_person_daily` per person, so a
//!   signed-in member cannot pump either: every number costs them one of a few a day.
//!
//! Email has the same budgets with `login.email_cooldown`, `login.email_daily` (per
//! recipient, and per person outside `anonymous`) and `login.per_ip_daily`.
//!
//! # Shared caps: anti-pumping for every purpose
//!
//! SMS also pass a country allowlist and daily caps per organisation, per country calling
//! code and in all, counted over **every** budget (a flood to premium numbers stops whoever
//! causes it). Anonymous requests may use only `100 - sms.reserved_percent` percent of each
//! of these caps; the reserved rest is left to the people who proved a factor, so an
//! anonymous flood that reaches its share does not stop second factors. Reaching a global
//! cap (the anonymous share or the whole) logs an `ALERT` and counts in
//! [`Counters::sms_global_cap_hits`].
//!
//! # What the asker is told
//!
//! A refusal says why and when to try again ([`Refused`]). The anonymous purposes are decided
//! in the background and their pages never show it (the same page for every address or
//! number, known or not: P4). The pages of the other budgets show it: the person proved who
//! they are, and the refusal is about their own account or the number they typed.
//!
//! Decisions are recorded per request id, so a request processed twice (after a crash) gets
//! the same decision and counts once.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::crypto::b64;
use crate::error::Result;
use crate::sms::phone;
use crate::state::AppState;
use crate::store::message_sends::{self, NewSend, Scope, Window};

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

/// Why a message is asked for; decides its [`Budget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A login key asked for on the login page: anonymous.
    LoginKey,
    /// A recovery key asked for on the forgot-password page: anonymous.
    Recovery,
    /// A second-factor code to the person's verified number: their first factor passed.
    SecondFactor,
    /// The second message of a recovery that needs both factors, to the account's own other
    /// channel: one channel is proven (the reset form's SMS code, the mail after an SMS code).
    RecoveryFactor,
    /// A confirmation of an address or number the person names: a fresh signed-in session, or
    /// a login step enrolling its second factor.
    VerifyChannel,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::LoginKey => "login_key",
            Purpose::Recovery => "recovery",
            Purpose::SecondFactor => "second_factor",
            Purpose::RecoveryFactor => "recovery_factor",
            Purpose::VerifyChannel => "verify_channel",
        }
    }

    /// The budget it spends.
    pub fn budget(self) -> Budget {
        match self {
            Purpose::LoginKey | Purpose::Recovery => Budget::Anonymous,
            Purpose::SecondFactor | Purpose::RecoveryFactor => Budget::OwnChannel,
            Purpose::VerifyChannel => Budget::NewChannel,
        }
    }
}

/// What the cooldown and the caps per recipient, IP address and person are counted in (see
/// the module documentation). Stored in `message_sends.budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Nobody proved anything.
    Anonymous,
    /// A factor of the account is proven; the message goes to its own verified channel.
    OwnChannel,
    /// A factor of the account is proven; the message goes where the person says.
    NewChannel,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Anonymous => "anonymous",
            Budget::OwnChannel => "own_channel",
            Budget::NewChannel => "new_channel",
        }
    }
}

/// A message someone asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The request's id (deciding it again gives the same answer).
    pub id: &'a str,
    pub purpose: Purpose,
    pub channel: Channel,
    /// A normalised email address, or an E.164 number.
    pub recipient: &'a str,
    /// Who asked.
    pub ip: Option<&'a str>,
    /// The account whose factor the asker proved (its id); `None` for the anonymous
    /// purposes. Without it the other purposes are counted per IP address instead.
    pub person: Option<&'a str>,
    /// The organisation the message is for, if any.
    pub organisation_id: Option<&'a str>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Cooldown,
    RecipientDaily,
    IpDaily,
    PersonDaily,
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
            Refusal::PersonDaily => "person_daily",
            Refusal::OrganisationDaily => "organisation_daily",
            Refusal::CountryNotAllowed => "country_not_allowed",
            Refusal::CountryDaily => "country_daily",
            Refusal::GlobalDaily => "global_daily",
            Refusal::Earlier => "earlier",
        }
    }
}

/// A refused message: why, and how long until the same ask could pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: Refusal,
    /// Seconds until the limit that refused it lets a message through again (`None`: not by
    /// waiting, e.g. a country outside the allowlist).
    pub retry_after: Option<i64>,
}

/// A refusal as [`decide`] returns it.
fn refuse(reason: Refusal, retry_after: Option<i64>) -> Result<Result<(), Refused>> {
    Ok(Err(Refused {
        reason,
        retry_after: retry_after.map(|s| s.max(1)),
    }))
}

/// Counters since start, for the metrics.
#[derive(Debug, Default)]
pub struct Counters {
    pub sms_sent: AtomicU64,
    pub sms_refused: AtomicU64,
    pub email_sent: AtomicU64,
    pub email_refused: AtomicU64,
    /// Times a global SMS cap (the anonymous share or the whole) stopped a message.
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

/// The keyed hash under which a person (an account id) is counted.
pub fn person_hash(state: &AppState, user_id: &str) -> String {
    b64(&state.keys.mac("send-limits-person", user_id.as_bytes()))
}

/// The send limits for a message of `purpose` by `channel` to `recipient` that the person
/// `user_id` (who proved a factor) asked for from `ip`, under a fresh id: `Ok(id)` when it
/// may be sent (the id names the message), else why not.
pub async fn admit_person(
    state: &AppState,
    (purpose, channel): (Purpose, Channel),
    recipient: &str,
    user_id: &str,
    ip: &str,
) -> Result<Result<String, Refused>> {
    let id = crate::crypto::random_id();
    let ask = Ask {
        id: &id,
        purpose,
        channel,
        recipient,
        ip: Some(ip),
        person: Some(user_id),
        organisation_id: None,
    };
    Ok(admit(state, &ask).await?.map(|()| id))
}

/// Decides whether the message may be sent, and records the decision.
pub async fn admit(state: &AppState, ask: &Ask<'_>) -> Result<Result<(), Refused>> {
    if let Some(sent) = message_sends::decided(&state.db, ask.id).await? {
        return Ok(if sent {
            Ok(())
        } else {
            Err(Refused {
                reason: Refusal::Earlier,
                retry_after: None,
            })
        });
    }
    let now = state.now();
    let hash = recipient_hash(state, ask.recipient);
    let budget = ask.purpose.budget();
    let person = match budget {
        Budget::Anonymous => None,
        Budget::OwnChannel | Budget::NewChannel => ask.person.map(|p| person_hash(state, p)),
    };
    let country = match ask.channel {
        Channel::Sms => phone::country_code(ask.recipient),
        Channel::Email => None,
    };
    let counted = Counted {
        hash: &hash,
        person: person.as_deref(),
        country,
        now,
    };
    let verdict = decide(state, ask, &counted).await?;
    let recorded = message_sends::record(
        &state.db,
        &NewSend {
            id: ask.id,
            channel: ask.channel.as_str(),
            budget: budget.as_str(),
            recipient_hash: &hash,
            ip: ask.ip,
            person_hash: person.as_deref(),
            organisation_id: ask.organisation_id,
            country,
            sent: verdict.is_ok(),
        },
        now,
    )
    .await?;
    let verdict = match (recorded, verdict) {
        (true, _) => Ok(()),
        (false, Err(r)) => Err(r),
        (false, Ok(())) => Err(Refused {
            reason: Refusal::Earlier,
            retry_after: None,
        }),
    };
    let (sent, refused) = match ask.channel {
        Channel::Sms => (&COUNTERS.sms_sent, &COUNTERS.sms_refused),
        Channel::Email => (&COUNTERS.email_sent, &COUNTERS.email_refused),
    };
    match verdict {
        Ok(()) => sent.fetch_add(1, Ordering::Relaxed),
        Err(r) => {
            tracing::info!(
                channel = ask.channel.as_str(),
                purpose = ask.purpose.as_str(),
                budget = budget.as_str(),
                reason = r.reason.as_str(),
                "message refused by the send limits"
            );
            refused.fetch_add(1, Ordering::Relaxed)
        }
    };
    Ok(verdict)
}

/// The keys an ask is counted under.
struct Counted<'a> {
    hash: &'a str,
    person: Option<&'a str>,
    country: Option<&'a str>,
    now: i64,
}

/// The limits of one budget on one channel.
struct Limits {
    cooldown: i64,
    per_recipient: i64,
    per_asker: i64,
}

fn limits(state: &AppState, channel: Channel, budget: Budget) -> Limits {
    match channel {
        Channel::Sms => {
            let s = &state.config.sms;
            let (per_recipient, per_asker) = match budget {
                Budget::Anonymous => (s.per_number_daily, s.per_ip_daily),
                Budget::OwnChannel => (s.per_person_daily, s.per_person_daily),
                Budget::NewChannel => (s.per_number_daily, s.per_person_daily),
            };
            Limits {
                cooldown: s.cooldown,
                per_recipient,
                per_asker,
            }
        }
        Channel::Email => {
            let l = &state.config.login;
            Limits {
                cooldown: l.email_cooldown,
                per_recipient: l.email_daily,
                per_asker: match budget {
                    Budget::Anonymous => l.per_ip_daily,
                    Budget::OwnChannel | Budget::NewChannel => l.email_daily,
                },
            }
        }
    }
}

/// The part of a shared cap a budget may use: anonymous requests stop
/// `sms.reserved_percent` percent short of it (rounded down, so a small cap may reserve
/// nothing; at most 90 percent, so anonymous requests always keep at least one); the other
/// budgets may use all of it.
fn share(state: &AppState, budget: Budget, cap: i64) -> i64 {
    match budget {
        Budget::Anonymous => cap - cap * state.config.sms.reserved_percent / 100,
        Budget::OwnChannel | Budget::NewChannel => cap,
    }
}

/// Seconds until a full window lets one more through: when its oldest message is a day old.
fn until_drop(w: Window, now: i64) -> Option<i64> {
    Some(w.oldest.map_or(1, |t| t + DAY - now))
}

/// The limits, checked in order.
async fn decide(state: &AppState, ask: &Ask<'_>, c: &Counted<'_>) -> Result<Result<(), Refused>> {
    let db = &state.db;
    let channel = ask.channel.as_str();
    let budget = ask.purpose.budget();
    let b = Some(budget.as_str());
    let now = c.now;
    let since = now - DAY;
    let l = limits(state, ask.channel, budget);
    if ask.channel == Channel::Sms {
        let allowed = c
            .country
            .is_some_and(|cc| state.config.sms.allowed_countries.iter().any(|a| a == cc));
        if !allowed {
            return refuse(Refusal::CountryNotAllowed, None);
        }
    }
    if let Some(last) = message_sends::last_sent_to(db, channel, budget.as_str(), c.hash).await?
        && now - last < l.cooldown
    {
        return refuse(Refusal::Cooldown, Some(last + l.cooldown - now));
    }
    let w = message_sends::window(db, channel, b, Scope::Recipient(c.hash), since).await?;
    if w.count >= l.per_recipient {
        return refuse(Refusal::RecipientDaily, until_drop(w, now));
    }
    let asker = match (budget, c.person, ask.ip) {
        (Budget::Anonymous, _, Some(ip)) => Some((Scope::Ip(ip), Refusal::IpDaily)),
        (Budget::Anonymous, _, None) => None,
        (_, Some(p), _) => Some((Scope::Person(p), Refusal::PersonDaily)),
        (_, None, ip) => ip.map(|ip| (Scope::Ip(ip), Refusal::IpDaily)),
    };
    if let Some((scope, reason)) = asker {
        let w = message_sends::window(db, channel, b, scope, since).await?;
        if w.count >= l.per_asker {
            return refuse(reason, until_drop(w, now));
        }
    }
    if ask.channel == Channel::Email {
        return Ok(Ok(()));
    }
    // The shared caps count every budget.
    let s = &state.config.sms;
    if let Some(org) = ask.organisation_id {
        let w = message_sends::window(db, channel, None, Scope::Organisation(org), since).await?;
        if w.count >= share(state, budget, s.per_org_daily) {
            return refuse(Refusal::OrganisationDaily, until_drop(w, now));
        }
    }
    if let Some(cc) = c.country {
        let w = message_sends::window(db, channel, None, Scope::Country(cc), since).await?;
        if w.count >= share(state, budget, s.per_country_daily) {
            return refuse(Refusal::CountryDaily, until_drop(w, now));
        }
    }
    let w = message_sends::window(db, channel, None, Scope::All, since).await?;
    let cap = share(state, budget, s.global_daily);
    if w.count >= cap {
        COUNTERS.sms_global_cap_hits.fetch_add(1, Ordering::Relaxed);
        if cap < s.global_daily {
            tracing::error!(
                global_daily = s.global_daily,
                anonymous_share = cap,
                "ALERT: anonymous SMS requests reached their share of the global daily SMS cap (sms.global_daily less sms.reserved_percent); no login or recovery SMS is sent until the count falls below it, second factors still are. Check for SMS pumping (many numbers, unusual countries) in the audit log"
            );
        } else {
            tracing::error!(
                global_daily = s.global_daily,
                "ALERT: the global daily SMS cap (sms.global_daily) is reached; no SMS is sent until the count falls below it. Check for SMS pumping (many numbers, unusual countries) in the audit log"
            );
        }
        return refuse(Refusal::GlobalDaily, until_drop(w, now));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_and_people_who_proved_a_factor_spend_different_budgets() {
        assert_eq!(Purpose::LoginKey.budget(), Budget::Anonymous);
        assert_eq!(Purpose::Recovery.budget(), Budget::Anonymous);
        assert_eq!(Purpose::SecondFactor.budget(), Budget::OwnChannel);
        assert_eq!(Purpose::RecoveryFactor.budget(), Budget::OwnChannel);
        assert_eq!(Purpose::VerifyChannel.budget(), Budget::NewChannel);
    }

    #[test]
    fn a_full_window_opens_when_its_oldest_message_is_a_day_old() {
        let w = Window {
            count: 5,
            oldest: Some(1000),
        };
        assert_eq!(until_drop(w, 1000 + 3600), Some(DAY - 3600));
    }
}
