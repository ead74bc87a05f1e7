//! The discovery documents (RFC 7644 section 4, RFC 7643 sections 5-7): what this service
//! provider supports (`ServiceProviderConfig`), the resource types it serves
//! (`ResourceTypes`) and their attributes (`Schemas`). They are written here, not generated:
//! they describe exactly the attributes `users.rs` and `groups.rs` act on, and the User
//! schema is per organisation (its `roles` list the organisation's roles as canonical values).

use serde_json::{Value, json};

/// The core User schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension (Entra ID and Okta send it; kept as written).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ServiceProviderConfig's schema.
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType's schema.
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema's schema.
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// A list response.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// A bulk response.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// Most resources one list response returns (`filter.maxResults`).
pub const MAX_RESULTS: usize = 200;
/// Most operations in one bulk request.
pub const BULK_MAX_OPERATIONS: usize = 100;
/// Largest request body, bytes (also `bulk.maxPayloadSize`).
pub const MAX_PAYLOAD: usize = 1024 * 1024;

/// `ServiceProviderConfig`: PATCH, bulk, filter, ETags; no password changes and no sorting.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": BULK_MAX_OPERATIONS,
            "maxPayloadSize": MAX_PAYLOAD,
        },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "An access token of a service client owned by the organisation, from the client_credentials grant with the scope scim",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// The `ResourceTypes`: User (with the enterprise extension) and Group.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organisation, as its platform provisions them",
            "schema": USER,
            "schemaExtensions": [{ "schema": ENTERPRISE_USER, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "One of the organisation's roles, with the users holding it",
            "schema": GROUP,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

/// The `Schemas`; `roles` are the organisation's role names.
pub fn schemas(base: &str, roles: &[String]) -> Vec<Value> {
    vec![
        user_schema(base, roles),
        group_schema(base),
        enterprise_schema(base),
    ]
}

fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// A multi-valued complex attribute with `value`, `type` (canonical `types`) and `primary`.
fn typed_values(name: &str, description: &str, types: &[&str]) -> Value {
    with(
        attr(name, "complex", description),
        json!({
            "multiValued": true,
            "subAttributes": [
                attr("value", "string", "The value"),
                with(attr("type", "string", "A label"), json!({ "canonicalValues": types })),
                attr("primary", "boolean", "The preferred value"),
            ],
        }),
    )
}

fn user_schema(base: &str, roles: &[String]) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": USER,
        "name": "User",
        "description": "A member of the organisation",
        "attributes": [
            with(attr("userName", "string", "Unique within the organisation; the invitation goes to it when it is an email address and no email is given"),
                json!({ "required": true, "uniqueness": "server" })),
            with(attr("name", "complex", "The person's name as the platform knows it"), json!({
                "subAttributes": [
                    attr("formatted", "string", "The full name"),
                    attr("familyName", "string", "The family name"),
                    attr("givenName", "string", "The given name"),
                ],
            })),
            attr("displayName", "string", "The name to show"),
            typed_values("emails", "Email addresses; the primary one (else the first) receives the invitation", &["work", "home", "other"]),
            typed_values("phoneNumbers", "Phone numbers as the platform knows them", &["work", "home", "mobile", "other"]),
            attr("active", "boolean", "Whether the membership is in force (false suspends it)"),
            with(attr("roles", "complex", "The organisation's roles held by the member"), json!({
                "multiValued": true,
                "subAttributes": [
                    with(attr("value", "string", "A role of the organisation"),
                        json!({ "caseExact": true, "canonicalValues": roles })),
                ],
            })),
            with(attr("groups", "complex", "The groups (roles) the member is in"), json!({
                "multiValued": true,
                "mutability": "readOnly",
                "subAttributes": [
                    with(attr("value", "string", "The group's id"), json!({ "mutability": "readOnly" })),
                    with(attr("$ref", "reference", "The group's URI"),
                        json!({ "mutability": "readOnly", "referenceTypes": ["Group"] })),
                    with(attr("display", "string", "The group's name"), json!({ "mutability": "readOnly" })),
                ],
            })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER}") },
    })
}

fn group_schema(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": GROUP,
        "name": "Group",
        "description": "A role of the organisation",
        "attributes": [
            with(attr("displayName", "string", "The group's name; a new group's role is named after it (lower case, a-z 0-9 _ -)"),
                json!({ "required": true, "uniqueness": "server" })),
            with(attr("members", "complex", "The users holding the role"), json!({
                "multiValued": true,
                "subAttributes": [
                    with(attr("value", "string", "The user's id"), json!({ "mutability": "immutable", "caseExact": true })),
                    with(attr("$ref", "reference", "The user's URI"),
                        json!({ "mutability": "immutable", "referenceTypes": ["User"] })),
                    with(attr("type", "string", "The member's resource type"),
                        json!({ "mutability": "immutable", "canonicalValues": ["User"] })),
                ],
            })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP}") },
    })
}

fn enterprise_schema(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": ENTERPRISE_USER,
        "name": "EnterpriseUser",
        "description": "Enterprise attributes, kept as the platform writes them",
        "attributes": [
            attr("employeeNumber", "string", "The platform's number for the person"),
            attr("organization", "string", "Organization"),
            attr("department", "string", "Department"),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE_USER}") },
    })
}
