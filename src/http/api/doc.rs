//! The admin API's OpenAPI 3.1 document, generated from the code (utoipa): the schemas
//! from the request and response types (`#[derive(ToSchema)]`), the operations from the
//! handlers' `#[utoipa::path]` attributes, and what is common to many operations (path
//! parameters, error answers, the bearer scheme, the tags) from the tables in this file.
//! Served at `/api/admin/v1/openapi.json`; the test
//! `openapi::the_generated_openapi_document_is_written_for_the_validator` writes it out for
//! the spec validator of `.ci/run`.
//!
//! The document is a contract: operation ids and paths equal [`super::table::ROUTES`]
//! (a test checks it), and every answer the API tests receive is checked against it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    InfoBuilder, LicenseBuilder, OpenApi as Document, Ref, RefOr, Required, ServerBuilder,
};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::http::api::error::ErrorBody;
use crate::http::api::table::PREFIX;
use crate::http::api::{audit, clients, invitations, members, orgs, two_factors, users, webhooks};

/// The document, serialised once.
pub fn openapi_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string_pretty(&document()).unwrap_or_else(|e| {
            tracing::error!(error = %crate::error::Chain(&e), "serialising the OpenAPI document");
            String::from("{}")
        })
    });
    &JSON
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::http::api::get_openapi,
        orgs::list, orgs::create, orgs::get, orgs::update, orgs::delete,
        orgs::list_roles, two_factors::get, two_factors::set, orgs::put_role, orgs::delete_role,
        members::list, members::get, members::remove, members::set_roles, members::send_reset,
        members::list_sessions, members::end_session,
        invitations::list, invitations::create, invitations::revoke,
        clients::list_of_org, clients::create_for_org, clients::list_of_installation,
        clients::create_for_installation, clients::get, clients::update, clients::delete,
        clients::rotate_secret,
        webhooks::list_of_org, webhooks::create_for_org, webhooks::list_of_installation,
        webhooks::create_for_installation, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate_secret, webhooks::deliveries, webhooks::redeliver,
        audit::list_of_org, audit::export_of_org, audit::list_all, audit::export_all,
        users::set_password,
    ),
    components(
        schemas(
            ErrorBody, Instant, NextCursor, OrgPage, RolePage, MemberPage, SessionPage, InvitationPage, ClientPage,
            EventPage, WebhookDeliveryPage, GrantType,
            crate::admin::orgs::OrgView, crate::store::orgs::Role,
            crate::admin::members::MemberView, crate::admin::sessions::SessionView,
            crate::admin::invitations::InvitationView, crate::admin::clients::ClientView,
            crate::admin::audit::EventView,
            crate::admin::webhooks::EndpointView, crate::admin::webhooks::CreatedEndpoint,
            crate::admin::webhooks::NewSecret, crate::admin::webhooks::NewEndpoint,
            crate::admin::webhooks::EndpointChange, crate::admin::webhooks::DeliveryView,
        ),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Error, Export),
    ),
    modifiers(&Common),
)]
struct ApiDoc;

/// What the derive cannot say: info, servers, security, tags, path parameters.
struct Common;

const DESCRIPTION: &str = "Organisations, members, roles, invitations, clients, sessions and the audit log of a Nyckel installation.\n\n\
Authenticate with a Nyckel access token carrying the `admin` scope: a person's (signed in through a client registered for the admin API) or a service client's (`client_credentials`, owned by one organisation, acting as that organisation's admin). Cookies are not accepted.\n\n\
Who may call what is the permission matrix of `docs/permissions.md`. Objects of an organisation where the caller has no standing answer 404, exactly like objects that do not exist; members and organisation admins attempting installation actions get 403.\n\n\
Every error has the shape of `Error`. Request bodies are JSON; unknown fields are refused (400). Lists are paginated with `limit` and `cursor` and answer `{\"items\": [...], \"next_cursor\": ...}`; pass `next_cursor` back as `cursor` until it is null. No answer ever contains a password, a password hash, a link key, a code or a client secret hash; a client secret appears only in the answer that creates or rotates it.";

/// The tags, in the order the document lists them.
const TAGS: &[(&str, &str)] = &[
    ("organisations", "Organisations and their own role lists."),
    (
        "members",
        "Members as their organisation sees them: name, email, phone, roles there.",
    ),
    ("sessions", "A member's login sessions."),
    ("invitations", "Inviting people by email."),
    (
        "clients",
        "Relying parties: an organisation's own, and the installation's.",
    ),
    (
        "webhooks",
        "Signed event webhooks: an organisation's endpoints, and the installation's.",
    ),
    ("audit", "The audit log."),
    ("people", "Installation-level actions on a person."),
    ("meta", "This document."),
];

/// The path parameters: name, description, pattern.
const PATH_PARAMETERS: &[(&str, &str, Option<&str>)] = &[
    ("org", "The organisation's id or slug.", None),
    ("user", "The person's id (`sub`).", None),
    (
        "role",
        "A role name: 1-64 characters a-z, 0-9, `_` and `-`.",
        Some("^[a-z0-9_-]{1,64}$"),
    ),
    ("client", "The client's `client_id`.", None),
    ("sid", "The session's public id (`sid`).", None),
    ("invitation", "The invitation's id.", None),
    ("webhook", "The webhook endpoint's id (`wh_…`).", None),
    (
        "delivery",
        "The message's id, its `webhook-id` (`msg_…`).",
        None,
    ),
];

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        doc.info = InfoBuilder::new()
            .title("Nyckel admin API")
            .version("1.0.0")
            .description(Some(DESCRIPTION))
            .license(Some(
                LicenseBuilder::new()
                    .name("AGPL-3.0-or-later")
                    .identifier(Some("AGPL-3.0-or-later"))
                    .build(),
            ))
            .build();
        doc.servers = Some(vec![ServerBuilder::new().url(PREFIX).build()]);
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new::<
            &str,
            [&str; 0],
            &str,
        >("bearer", [])]);
        doc.tags = Some(
            TAGS.iter()
                .map(|(name, text)| {
                    TagBuilder::new()
                        .name(*name)
                        .description(Some(*text))
                        .build()
                })
                .collect(),
        );
        if let Some(components) = doc.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some("A Nyckel access token (RFC 9068, `typ: at+jwt`) with the `admin` scope. A missing, invalid, expired or revoked token, or one without the `admin` scope, is answered 401 with `WWW-Authenticate: Bearer` (RFC 6750)."))
                        .build(),
                ),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            if let Some(op) = item.get.as_mut().filter(|_| path == "/openapi.json") {
                // Public: an empty list, not the document-wide bearer requirement.
                op.security = Some(Vec::new());
            }
            let params: Vec<_> = path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .filter_map(|name| PATH_PARAMETERS.iter().find(|(n, _, _)| *n == name))
                .map(|(name, text, pattern)| {
                    let mut schema = ObjectBuilder::new().schema_type(Type::String);
                    if let Some(p) = pattern {
                        schema = schema.pattern(Some(*p));
                    }
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .description(Some(*text))
                        .schema(Some(schema))
                        .build()
                })
                .collect();
            if !params.is_empty() {
                item.parameters = Some(params);
            }
        }
    }
}

/// A string schema with these values.
fn one_of_strings(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

/// The languages an organisation may have (`admin::orgs::LOCALES`).
pub fn locale() -> Object {
    one_of_strings(crate::admin::orgs::LOCALES).build()
}

/// The signing algorithms of ID tokens.
pub fn id_token_alg() -> Object {
    one_of_strings(&["RS256", "ES256", "EdDSA"]).build()
}

/// The signing algorithm of a new client's ID tokens (default RS256).
pub fn new_id_token_alg() -> Object {
    one_of_strings(&["RS256", "ES256", "EdDSA"])
        .default(Some("RS256".into()))
        .build()
}

/// The grant types a client may use.
pub fn grant_types() -> ArrayBuilder {
    ArrayBuilder::new().items(Ref::from_schema_name("GrantType"))
}

/// An invitation's state.
pub fn invitation_status() -> Object {
    one_of_strings(&["open", "accepted", "revoked", "expired"]).build()
}

/// The error codes of [`ErrorBody`].
pub fn error_code() -> Object {
    one_of_strings(&[
        "invalid_request",
        "unauthenticated",
        "insufficient_user_authentication",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "conflict",
        "too_large",
        "internal_error",
        "temporarily_unavailable",
    ])
    .build()
}

/// The constant `sent`.
pub fn sent() -> Object {
    one_of_strings(&["sent"]).build()
}

/// A URI.
pub fn uri_list() -> ArrayBuilder {
    ArrayBuilder::new().items(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri".into()))),
    )
}

/// One URI, or `null`.
pub fn optional_uri() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .format(Some(SchemaFormat::Custom("uri".into())))
        .build()
}

/// An instant: unix seconds (UTC).
pub struct Instant;

impl PartialSchema for Instant {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("Unix seconds (UTC)."))
            .into()
    }
}

impl ToSchema for Instant {}

/// The cursor of the next page of a list.
pub struct NextCursor;

impl PartialSchema for NextCursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some(
                "Pass as `cursor` for the next page; null on the last page.",
            ))
            .into()
    }
}

impl ToSchema for NextCursor {}

/// A grant type of a client.
pub struct GrantType;

impl PartialSchema for GrantType {
    fn schema() -> RefOr<Schema> {
        one_of_strings(&["authorization_code", "refresh_token", "client_credentials"])
            .build()
            .into()
    }
}

impl ToSchema for GrantType {}

/// Declares a page schema (`{"items": [...], "next_cursor": ...}` of `paging::Page`)
/// of the named item schema.
macro_rules! page {
    ($name:ident, $item:literal) => {
        #[doc = concat!("A page of `", $item, "`.")]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                page_of($item)
            }
        }

        impl ToSchema for $name {}
    };
}

page!(OrgPage, "Org");
page!(RolePage, "Role");
page!(MemberPage, "Member");
page!(SessionPage, "Session");
page!(InvitationPage, "Invitation");
page!(ClientPage, "Client");
page!(EventPage, "Event");
page!(WebhookDeliveryPage, "WebhookDelivery");

/// The schema of a page of `item`.
fn page_of(item: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property(
            "items",
            ArrayBuilder::new().items(Ref::from_schema_name(item)),
        )
        .property("next_cursor", Ref::from_schema_name("NextCursor"))
        .required("items")
        .required("next_cursor")
        .into()
}

/// Declares a reusable error answer (`components/responses`) with the [`ErrorBody`] shape.
macro_rules! error_response {
    ($name:ident, $text:literal) => {
        #[doc = $text]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_answer($text).build().into())
            }
        }
    };
}

error_response!(
    BadRequest,
    "The request is malformed: bad JSON, wrong content type, an unknown field, a bad parameter or value (`invalid_request`)."
);
error_response!(
    Forbidden,
    "Known to the caller, but not theirs to do (`forbidden`)."
);
error_response!(
    NotFound,
    "No such object, or one in an organisation where the caller has no standing (`not_found`)."
);
error_response!(
    Conflict,
    "Conflicts with the current state (`conflict`), e.g. a slug in use or the last admin."
);
error_response!(
    Error,
    "Any other error: 405 `method_not_allowed`, 413 `too_large`, 500 `internal_error` (never with details), 503 `temporarily_unavailable`."
);

/// Declares a set of error answers an operation lists in `responses(...)`, each a reference
/// to one of the answers above, so an operation names what it may refuse in one word.
macro_rules! refusals {
    ($name:ident, $text:literal, $(($status:literal, $answer:ident)),+) => {
        #[doc = $text]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$((
                    $status.to_string(),
                    RefOr::Ref(Ref::from_response_name(stringify!($answer))),
                )),+])
            }
        }
    };
}

refusals!(
    Refused,
    "What every operation may answer: 401, 403 and the catch-all error.",
    ("401", Unauthorized),
    ("403", Forbidden),
    ("default", Error)
);
refusals!(
    Invalid,
    "400: the request is malformed.",
    ("400", BadRequest)
);
refusals!(
    Missing,
    "404: no such object (for this caller).",
    ("404", NotFound)
);
refusals!(
    Conflicting,
    "409: conflicts with the current state.",
    ("409", Conflict)
);

/// An error answer with this description.
fn error_answer(text: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(text).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build(),
    )
}

/// 401, with its challenge.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        let answer = error_answer("No access token, or one that is not accepted (`unauthenticated`), or one whose login had one factor where the person now needs two (`insufficient_user_authentication`, RFC 9470: sign in again with `acr_values=urn:nyckel:acr:2fa`).")
            .header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("`Bearer realm=\"nyckel\", scope=\"admin\"`, with `error=\"invalid_token\"` when a token was sent (RFC 6750).")).build(),
            );
        ("Unauthorized", answer.build().into())
    }
}

/// An audit export: JSON lines.
pub struct Export;

impl<'r> ToResponse<'r> for Export {
    fn response() -> (&'r str, RefOr<Response>) {
        let answer = ResponseBuilder::new()
            .description("JSON lines: one `Event` object per line.")
            .header(
                "Content-Disposition",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("`attachment; filename=\"audit.jsonl\"`."))
                    .build(),
            )
            .content(
                "application/x-ndjson",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        ("Export", answer.build().into())
    }
}
