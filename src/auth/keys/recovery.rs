//! Recovery by a code: a correct recovery code (typed into the browser that asked) is traded
//! for a short-lived reset key bound to the same browser, which opens the new-password form
//! (`auth::reset`). The code is used up by the trade; the password is set by the form.

use super::login::{self, Browser};
use crate::auth::reset;
use crate::crypto::{secret_token, sha256_b64};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, login_keys::NewKey};

/// Seconds the traded reset key stays valid.
pub const TRADED_TTL: i64 = 600;

/// Trades a recovery code for a reset key; `None` when the code is wrong, dead or absent.
pub async fn trade_code(
    state: &AppState,
    typed: &str,
    browser: Browser<'_>,
) -> Result<Option<String>> {
    let Some(binding) = browser.binding else {
        return Ok(None);
    };
    let Some(used) = login::guess(state, reset::PURPOSE, typed, browser).await? else {
        return Ok(None);
    };
    let Some(user_id) = used.user_id.as_deref() else {
        return Ok(None);
    };
    let key = secret_token();
    let now = state.now();
    let binding_hash = sha256_b64(binding);
    store::login_keys::replace(
        &state.db,
        &NewKey {
            key_hash: &sha256_b64(&key),
            purpose: reset::PURPOSE,
            user_id: Some(user_id),
            email: used.email.as_deref(),
            phone: used.phone.as_deref(),
            channel: &used.channel,
            binding_hash: Some(&binding_hash),
            expires_at: now + TRADED_TTL,
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(Some(key))
}
