//! `[login]`: temporary login keys (email links and codes, SMS codes), password recovery and
//! confirmation of new email addresses and phone numbers (SECURITY.md section 4).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[login]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Whether people may ask for a login link (and code) by email.
    pub email_links: bool,
    /// Whether people may ask for a login code by SMS (to a verified number).
    pub sms_codes: bool,
    /// Seconds a login link or code stays valid (10-15 minutes).
    pub link_ttl: i64,
    /// Seconds a code sent by SMS (login, recovery, phone confirmation) stays valid (at most
    /// 10 minutes, SECURITY.md 6.5.5).
    pub code_ttl: i64,
    /// Digits in a code (6-8).
    pub code_digits: u32,
    /// Wrong guesses after which a code is dead.
    pub code_attempts: i64,
    /// Where an account has a verified phone as well as an email, recovery needs both an
    /// email link and an SMS code (default off). Starting from the email (link or code, or
    /// an administrator's reset link), the new-password form first sends a code to the
    /// verified phone and sets the password only with it; starting from an SMS code, a
    /// correct code mails a link to the account's address instead of opening the form.
    /// Accounts without a verified phone recover by email alone. See docs/recovery.md.
    pub recovery_needs_both: bool,
    /// Seconds after a login during which a person may change their email or phone.
    pub fresh_login: i64,
    /// Seconds an email-address confirmation link stays valid.
    pub verify_ttl: i64,
    /// Seconds between two emails with a key of one budget to one address (`sms::limits`).
    pub email_cooldown: i64,
    /// Emails with a key to one address per 24 hours, per budget; also the emails one person
    /// who proved a factor may cause per budget.
    pub email_daily: i64,
    /// Anonymous requests for an emailed key from one IP address per 24 hours (`sms.per_ip_daily`
    /// is the SMS counterpart).
    pub per_ip_daily: i64,
    /// Whether an administrator of any organisation (and a superadmin) must always log in
    /// with two factors (docs/two-factor.md). Default on.
    pub admins_require_two_factors: bool,
    /// Whether an SMS code to a verified number counts as a second factor.
    pub sms_second_factor: bool,
    /// Seconds a login that passed its first factor may wait for the second (60-900).
    pub step_ttl: i64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            email_links: true,
            sms_codes: true,
            link_ttl: 15 * 60,
            code_ttl: 10 * 60,
            code_digits: 6,
            code_attempts: 5,
            recovery_needs_both: false,
            fresh_login: 10 * 60,
            verify_ttl: 60 * 60,
            email_cooldown: 60,
            email_daily: 10,
            per_ip_daily: 50,
            admins_require_two_factors: true,
            sms_second_factor: true,
            step_ttl: 10 * 60,
        }
    }
}

impl LoginConfig {
    /// Checks the bounds; messages name the key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if !(60..=15 * 60).contains(&self.link_ttl) {
            return bad("login.link_ttl must be between 60 and 900 seconds");
        }
        if !(60..=10 * 60).contains(&self.code_ttl) {
            return bad("login.code_ttl must be between 60 and 600 seconds");
        }
        if !(6..=8).contains(&self.code_digits) {
            return bad("login.code_digits must be 6, 7 or 8");
        }
        if !(1..=10).contains(&self.code_attempts) {
            return bad("login.code_attempts must be between 1 and 10");
        }
        if !(60..=3600).contains(&self.fresh_login) {
            return bad("login.fresh_login must be between 60 and 3600 seconds");
        }
        if !(300..=24 * 3600).contains(&self.verify_ttl) {
            return bad("login.verify_ttl must be between 300 seconds and 24 hours");
        }
        if !(60..=15 * 60).contains(&self.step_ttl) {
            return bad("login.step_ttl must be between 60 and 900 seconds");
        }
        if self.email_cooldown < 0 || self.email_daily < 1 || self.per_ip_daily < 1 {
            return bad(
                "login.email_cooldown must not be negative; login.email_daily and login.per_ip_daily must be at least 1",
            );
        }
        Ok(())
    }
}
