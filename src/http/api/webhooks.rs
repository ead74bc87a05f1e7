//! `/orgs/{org}/webhooks` and `/webhooks`: an organisation's webhook endpoints and the
//! installation's (superadmin), their recent deliveries and redelivery. An endpoint's secret
//! appears only in the answer that creates or replaces it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::admin::webhooks::{
    self, CreatedEndpoint, DeliveryView, EndpointChange, EndpointView, NewEndpoint, NewSecret,
};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use crate::http::api::paging::PageQuery;
use crate::paging::Page;
use crate::state::AppState;

/// The endpoints of an organisation, oldest first.
#[utoipa::path(
    get,
    path = "/orgs/{org}/webhooks",
    operation_id = "listOrgWebhooks",
    tag = "webhooks",
    summary = "The organisation's webhook endpoints, oldest first.",
    description = "Permission: `WebhookList` (org admin).",
    responses(
        (status = 200, description = "The endpoints.", body = Vec<EndpointView>),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<Vec<EndpointView>>> {
    Ok(Json(webhooks::list(&state, &caller, Some(&org)).await?))
}

/// The installation's endpoints (which hear every organisation), oldest first.
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "listInstallationWebhooks",
    tag = "webhooks",
    summary = "The installation's webhook endpoints (every organisation's events), oldest first.",
    description = "Permission: superadmin (`WebhookList` on the installation).",
    responses(
        (status = 200, description = "The endpoints.", body = Vec<EndpointView>),
        crate::http::api::doc::Refused,
    ),
)]
pub async fn list_of_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<EndpointView>>> {
    Ok(Json(webhooks::list(&state, &caller, None).await?))
}

/// Adds an endpoint to the organisation.
#[utoipa::path(
    post,
    path = "/orgs/{org}/webhooks",
    operation_id = "createOrgWebhook",
    tag = "webhooks",
    summary = "Add a webhook endpoint to the organisation.",
    description = "Permission: `WebhookWrite` (org admin). The URL must be `https`. The signing secret (`whsec_…`, Standard Webhooks) is in this answer only. 409 until the upgrade to 0.6.0 is finished.",
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "The endpoint, with its secret shown once.", body = CreatedEndpoint),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
        crate::http::api::doc::Conflicting,
    ),
)]
pub async fn create_for_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<NewEndpoint>,
) -> ApiResult<(StatusCode, Json<CreatedEndpoint>)> {
    let created = webhooks::create(&state, &caller, Some(&org), body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Adds an installation endpoint.
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "createInstallationWebhook",
    tag = "webhooks",
    summary = "Add an installation webhook endpoint (every organisation's events).",
    description = "Permission: superadmin (`WebhookWrite` on the installation). The URL must be `https`, or `http` on loopback for development. The signing secret is in this answer only. 409 until the upgrade to 0.6.0 is finished.",
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "The endpoint, with its secret shown once.", body = CreatedEndpoint),
        crate::http::api::doc::Invalid, crate::http::api::doc::Refused,
        crate::http::api::doc::Conflicting,
    ),
)]
pub async fn create_for_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewEndpoint>,
) -> ApiResult<(StatusCode, Json<CreatedEndpoint>)> {
    let created = webhooks::create(&state, &caller, None, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/webhooks/{webhook}",
    operation_id = "getWebhook",
    tag = "webhooks",
    summary = "One webhook endpoint (never its secret).",
    description = "Permission: `WebhookRead` (org admin of the owner; superadmin for installation endpoints).",
    responses(
        (status = 200, description = "The endpoint.", body = EndpointView),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EndpointView>> {
    Ok(Json(webhooks::get(&state, &caller, &id).await?))
}

/// Changes an endpoint.
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    summary = "Change an endpoint's URL, description, events, or switch it off and on.",
    description = "Permission: `WebhookWrite`. Absent fields stay as they are. Events queued while an endpoint is off are dropped.",
    request_body = EndpointChange,
    responses(
        (status = 200, description = "The endpoint as it is now.", body = EndpointView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn update(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EndpointChange>,
) -> ApiResult<Json<EndpointView>> {
    Ok(Json(webhooks::update(&state, &caller, &id, body).await?))
}

/// Deletes an endpoint.
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    summary = "Delete an endpoint and its delivery history.",
    description = "Permission: `WebhookWrite`.",
    responses(
        (status = 204, description = "Deleted."),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces an endpoint's secret.
#[utoipa::path(
    post,
    path = "/webhooks/{webhook}/secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    summary = "Replace the endpoint's signing secret.",
    description = "Permission: `WebhookWrite`. The new secret is in this answer only; the previous one also signs (a second `v1,` signature) until `previous_secret_until`, a day.",
    responses(
        (status = 200, description = "The new secret, shown once.", body = NewSecret),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn rotate_secret(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<NewSecret>> {
    Ok(Json(webhooks::rotate_secret(&state, &caller, &id).await?))
}

/// An endpoint's messages, newest first.
#[utoipa::path(
    get,
    path = "/webhooks/{webhook}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    summary = "The endpoint's messages of the last 30 days, newest first, with their delivery state.",
    description = "Permission: `WebhookRead`. Never the body.",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = crate::http::api::doc::WebhookDeliveryPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn deliveries(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let page = webhooks::deliveries(&state, &caller, &id, q.cursor(), q.limit()?).await?;
    Ok(Json(page))
}

/// Sends a message again.
#[utoipa::path(
    post,
    path = "/webhooks/{webhook}/deliveries/{delivery}/redeliver",
    operation_id = "redeliverWebhook",
    tag = "webhooks",
    summary = "Send a message again, at once, under the same `webhook-id`.",
    description = "Permission: `WebhookWrite`.",
    responses(
        (status = 200, description = "The message, pending again.", body = DeliveryView),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn redeliver(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(
        webhooks::redeliver(&state, &caller, &id, &delivery).await?,
    ))
}
