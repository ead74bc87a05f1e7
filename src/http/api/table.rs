//! The admin API's one route table: every endpoint as (method, path template, operation,
//! permission action, success status). The router is built from it ([`super::router`]),
//! the OpenAPI document is checked against it, and the generated permission-matrix test
//! walks it. Adding an endpoint means adding a row here; the `match` in `super::handler`
//! then fails to compile until the operation has a handler.

use axum::routing::MethodFilter;

use crate::orgs::permissions::Action;

/// Where the API lives; every path in [`ROUTES`] is relative to it.
pub const PREFIX: &str = "/api/admin/v1";

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The lower-case name, as OpenAPI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }

    /// The axum filter for this method.
    pub fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        }
    }
}

/// Every operation of the API (the OpenAPI `operationId` is [`Op::operation_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    ListOrgs,
    CreateOrg,
    GetOrg,
    UpdateOrg,
    DeleteOrg,
    ListRoles,
    PutRole,
    DeleteRole,
    GetTwoFactors,
    SetTwoFactors,
    ListMembers,
    GetMember,
    RemoveMember,
    SetMemberRoles,
    SendReset,
    ListSessions,
    EndSession,
    ListInvitations,
    CreateInvitation,
    RevokeInvitation,
    ListOrgClients,
    CreateOrgClient,
    ListInstallationClients,
    CreateInstallationClient,
    GetClient,
    UpdateClient,
    DeleteClient,
    RotateClientSecret,
    ListOrgWebhooks,
    CreateOrgWebhook,
    ListInstallationWebhooks,
    CreateInstallationWebhook,
    GetWebhook,
    UpdateWebhook,
    DeleteWebhook,
    RotateWebhookSecret,
    ListWebhookDeliveries,
    RedeliverWebhook,
    ListOrgAudit,
    ExportOrgAudit,
    ListAudit,
    ExportAudit,
    SetPassword,
    OpenApi,
}

impl Op {
    /// The OpenAPI `operationId`: the variant name in lower camel case.
    pub fn operation_id(self) -> String {
        let name = format!("{self:?}");
        let mut chars = name.chars();
        match chars.next() {
            Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
            None => String::new(),
        }
    }
}

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// The path template below [`PREFIX`], with `{name}` parameters (axum and OpenAPI
    /// spell them alike).
    pub path: &'static str,
    pub op: Op,
    /// The action of the permission matrix the endpoint performs (`None`: public).
    pub action: Option<Action>,
    /// The status of a successful answer.
    pub status: u16,
}

const fn r(method: Method, path: &'static str, op: Op, action: Action, status: u16) -> Route {
    Route {
        method,
        path,
        op,
        action: Some(action),
        status,
    }
}

use Action as A;
use Method::{Delete, Get, Patch, Post, Put};

/// Every endpoint of the admin API.
pub const ROUTES: &[Route] = &[
    Route {
        method: Get,
        path: "/openapi.json",
        op: Op::OpenApi,
        action: None,
        status: 200,
    },
    // Organisations and their roles.
    r(Get, "/orgs", Op::ListOrgs, A::OrgList, 200),
    r(Post, "/orgs", Op::CreateOrg, A::OrgCreate, 201),
    r(Get, "/orgs/{org}", Op::GetOrg, A::OrgRead, 200),
    r(Patch, "/orgs/{org}", Op::UpdateOrg, A::OrgUpdate, 200),
    r(Delete, "/orgs/{org}", Op::DeleteOrg, A::OrgDelete, 204),
    r(Get, "/orgs/{org}/roles", Op::ListRoles, A::RoleList, 200),
    // An organisation's two-factor requirement (its admins or a superadmin change it).
    r(
        Get,
        "/orgs/{org}/two-factors",
        Op::GetTwoFactors,
        A::OrgRead,
        200,
    ),
    r(
        Put,
        "/orgs/{org}/two-factors",
        Op::SetTwoFactors,
        A::RoleWrite,
        200,
    ),
    r(
        Put,
        "/orgs/{org}/roles/{role}",
        Op::PutRole,
        A::RoleWrite,
        200,
    ),
    r(
        Delete,
        "/orgs/{org}/roles/{role}",
        Op::DeleteRole,
        A::RoleWrite,
        204,
    ),
    // Members and their sessions.
    r(
        Get,
        "/orgs/{org}/members",
        Op::ListMembers,
        A::MemberList,
        200,
    ),
    r(
        Get,
        "/orgs/{org}/members/{user}",
        Op::GetMember,
        A::MemberRead,
        200,
    ),
    r(
        Delete,
        "/orgs/{org}/members/{user}",
        Op::RemoveMember,
        A::MemberRemove,
        204,
    ),
    r(
        Put,
        "/orgs/{org}/members/{user}/roles",
        Op::SetMemberRoles,
        A::MemberUpdateRoles,
        200,
    ),
    r(
        Post,
        "/orgs/{org}/members/{user}/reset",
        Op::SendReset,
        A::MemberSendReset,
        202,
    ),
    r(
        Get,
        "/orgs/{org}/members/{user}/sessions",
        Op::ListSessions,
        A::SessionList,
        200,
    ),
    r(
        Delete,
        "/orgs/{org}/members/{user}/sessions/{sid}",
        Op::EndSession,
        A::SessionEnd,
        204,
    ),
    // Invitations.
    r(
        Get,
        "/orgs/{org}/invitations",
        Op::ListInvitations,
        A::InvitationList,
        200,
    ),
    r(
        Post,
        "/orgs/{org}/invitations",
        Op::CreateInvitation,
        A::InvitationCreate,
        201,
    ),
    r(
        Delete,
        "/orgs/{org}/invitations/{invitation}",
        Op::RevokeInvitation,
        A::InvitationRevoke,
        204,
    ),
    // Clients: an organisation's own, and the installation's.
    r(
        Get,
        "/orgs/{org}/clients",
        Op::ListOrgClients,
        A::ClientList,
        200,
    ),
    r(
        Post,
        "/orgs/{org}/clients",
        Op::CreateOrgClient,
        A::ClientCreate,
        201,
    ),
    r(
        Get,
        "/clients",
        Op::ListInstallationClients,
        A::ClientList,
        200,
    ),
    r(
        Post,
        "/clients",
        Op::CreateInstallationClient,
        A::ClientCreate,
        201,
    ),
    r(Get, "/clients/{client}", Op::GetClient, A::ClientRead, 200),
    r(
        Patch,
        "/clients/{client}",
        Op::UpdateClient,
        A::ClientUpdate,
        200,
    ),
    r(
        Delete,
        "/clients/{client}",
        Op::DeleteClient,
        A::ClientDelete,
        204,
    ),
    r(
        Post,
        "/clients/{client}/secret",
        Op::RotateClientSecret,
        A::ClientRotateSecret,
        200,
    ),
    // Webhook endpoints: an organisation's own, and the installation's.
    r(
        Get,
        "/orgs/{org}/webhooks",
        Op::ListOrgWebhooks,
        A::WebhookList,
        200,
    ),
    r(
        Post,
        "/orgs/{org}/webhooks",
        Op::CreateOrgWebhook,
        A::WebhookWrite,
        201,
    ),
    r(
        Get,
        "/webhooks",
        Op::ListInstallationWebhooks,
        A::WebhookList,
        200,
    ),
    r(
        Post,
        "/webhooks",
        Op::CreateInstallationWebhook,
        A::WebhookWrite,
        201,
    ),
    r(
        Get,
        "/webhooks/{webhook}",
        Op::GetWebhook,
        A::WebhookRead,
        200,
    ),
    r(
        Patch,
        "/webhooks/{webhook}",
        Op::UpdateWebhook,
        A::WebhookWrite,
        200,
    ),
    r(
        Delete,
        "/webhooks/{webhook}",
        Op::DeleteWebhook,
        A::WebhookWrite,
        204,
    ),
    r(
        Post,
        "/webhooks/{webhook}/secret",
        Op::RotateWebhookSecret,
        A::WebhookWrite,
        200,
    ),
    r(
        Get,
        "/webhooks/{webhook}/deliveries",
        Op::ListWebhookDeliveries,
        A::WebhookRead,
        200,
    ),
    r(
        Post,
        "/webhooks/{webhook}/deliveries/{delivery}/redeliver",
        Op::RedeliverWebhook,
        A::WebhookWrite,
        200,
    ),
    // The audit log.
    r(
        Get,
        "/orgs/{org}/audit",
        Op::ListOrgAudit,
        A::AuditRead,
        200,
    ),
    r(
        Get,
        "/orgs/{org}/audit/export",
        Op::ExportOrgAudit,
        A::AuditRead,
        200,
    ),
    r(Get, "/audit", Op::ListAudit, A::AuditReadAll, 200),
    r(Get, "/audit/export", Op::ExportAudit, A::AuditReadAll, 200),
    // People (installation level).
    r(
        Put,
        "/users/{user}/password",
        Op::SetPassword,
        A::PersonSetPassword,
        204,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_and_operations_used_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{:?} {} twice",
                    a.method,
                    a.path
                );
                assert_ne!(a.op, b.op, "{:?} routed twice", a.op);
            }
            assert!(a.path.starts_with('/'), "{}", a.path);
        }
        assert_eq!(Op::RotateClientSecret.operation_id(), "rotateClientSecret");
    }
}
