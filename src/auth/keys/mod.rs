//! Temporary login keys by email and SMS (placeholder while being built).

use crate::mail::backend::DeliveryError;
use crate::state::AppState;
use crate::store::outbox::Claimed;

/// Processes a queued key request.
pub async fn process(_state: &AppState, _row: &Claimed) -> Result<(), DeliveryError> {
    Err(DeliveryError("key requests are not processed yet".into()))
}
