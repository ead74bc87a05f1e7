//! A passkey as the second factor of a login step, and adding a first passkey during the
//! step when the person has no second factor yet (enrolment, like a mobile number in
//! [`super::sms`]). The WebAuthn ceremonies are `auth::passkeys`'; their challenges are bound
//! to the step, so only the browser holding the step cookie can finish them, and a refused
//! ceremony counts against the step like a wrong code.

use serde_json::Value;

use super::step::{self, Checked, Step};
use super::{Available, available};
use crate::auth::passkeys::{self, AMR_PASSKEY, Started};
use crate::crypto::sha256_b64;
use crate::error::Result;
use crate::state::AppState;

/// The binding of a step's ceremonies: derived from the step's hash (never the cookie).
fn binding(step: &Step) -> String {
    sha256_b64(&format!("passkey-step:{}", step.id_hash))
}

/// The person's second factors in this step.
async fn factors(state: &AppState, step: &Step) -> Result<Available> {
    available(state, &step.user_id, &step.first_amr).await
}

/// Begins a passkey login for the step's person (their passkeys listed). `None`: a passkey
/// is not a second factor here (none registered, or the first factor was one).
pub async fn start(state: &AppState, step: &Step) -> Result<Option<Started>> {
    if !factors(state, step).await?.passkey {
        return Ok(None);
    }
    let started =
        passkeys::start_authentication(state, Some(&step.user_id), &binding(step)).await?;
    Ok(Some(started))
}

/// Finishes a login begun by [`start`]: a verified passkey of the step's person ends the
/// step with `hwk`; anything else counts as a wrong second factor.
pub async fn check(
    state: &AppState,
    step: &Step,
    challenge_id: &str,
    credential: &Value,
    ip: &str,
) -> Result<Checked> {
    let finished =
        passkeys::finish_authentication(state, &binding(step), challenge_id, credential).await?;
    match finished {
        Ok(v) if v.user_id == step.user_id => step::done(state, step, AMR_PASSKEY).await,
        Ok(_) => {
            tracing::info!(user_id = %step.user_id, "second-factor passkey of another account");
            step::wrong(state, step, AMR_PASSKEY, ip).await
        }
        Err(refused) => {
            tracing::info!(user_id = %step.user_id, reason = refused.as_str(), "second-factor passkey refused");
            step::wrong(state, step, AMR_PASSKEY, ip).await
        }
    }
}

/// Begins registering a first passkey in the step. `None`: the person has a second factor
/// already (they use it; adding more is the account page's, after a full login).
pub async fn start_enrol(state: &AppState, step: &Step) -> Result<Option<Started>> {
    if factors(state, step).await?.any() {
        return Ok(None);
    }
    let started = passkeys::start_registration(state, &step.user_id, &binding(step)).await?;
    Ok(Some(started))
}

/// Finishes a registration begun by [`start_enrol`]. The authenticator proved possession and
/// user verification while making the credential: the passkey is stored (audited, the person
/// is told by mail) and is the second factor of this login (`hwk`). A refused ceremony
/// counts as a wrong second factor and stores nothing.
pub async fn finish_enrol(
    state: &AppState,
    step: &Step,
    challenge_id: &str,
    name: &str,
    credential: &Value,
    ip: &str,
) -> Result<Checked> {
    if factors(state, step).await?.any() {
        return step::wrong(state, step, AMR_PASSKEY, ip).await;
    }
    let finished = passkeys::finish_registration(
        state,
        &step.user_id,
        &binding(step),
        challenge_id,
        name,
        credential,
        ip,
    )
    .await?;
    match finished {
        Ok(_) => step::done(state, step, AMR_PASSKEY).await,
        Err(refused) => {
            tracing::info!(user_id = %step.user_id, reason = refused.as_str(), "second-factor passkey registration refused");
            step::wrong(state, step, AMR_PASSKEY, ip).await
        }
    }
}
