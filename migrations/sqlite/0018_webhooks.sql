-- Signed event webhooks (issue 18). Expand-only: the previous version ignores both tables,
-- which is why adding an endpoint waits for the upgrade to finish (docs/upgrades.md): a node
-- of the previous version cannot deliver the outbox rows queued for it.
--
-- An endpoint belongs to an organisation, or to the installation (organisation_id null,
-- superadmins): it is sent the events it subscribed to (`events`, a JSON list; [] is every
-- event). Its signing secret is sealed with the master key (context
-- `webhook-secret:<id>`); after a rotation the previous one stays valid until
-- `previous_secret_until` and both sign.
create table webhook_endpoints (
    id text primary key,
    organisation_id text references organisations (id) on delete cascade,
    url text not null,
    description text not null default '',
    events text not null,
    secret_sealed text not null,
    previous_secret_sealed text,
    previous_secret_until bigint,
    enabled integer not null default 1,
    created_at bigint not null,
    updated_at bigint not null
);
create index webhook_endpoints_org_idx on webhook_endpoints (organisation_id);

-- One event for one endpoint: its id is the `webhook-id` header and the id of the outbox row
-- (channel `webhook`) that delivers it. The body is sealed (context `webhook:<id>`): it names
-- the person. `subject` is who the event is about (a person's sub, or a client id): an
-- endpoint gets one subject's events in `ordinal` order. `state` is pending, delivered,
-- failed (given up) or dropped (the endpoint went away). Kept 30 days (upkeep).
create table webhook_messages (
    id text primary key,
    endpoint_id text not null references webhook_endpoints (id) on delete cascade,
    event_type text not null,
    subject text not null,
    ordinal bigint not null,
    payload text not null,
    created_at bigint not null,
    state text not null,
    attempts bigint not null default 0,
    last_attempt_at bigint,
    last_status bigint,
    last_error text,
    delivered_at bigint
);
create index webhook_messages_endpoint_idx on webhook_messages (endpoint_id, ordinal);
create index webhook_messages_order_idx on webhook_messages (endpoint_id, subject, ordinal);
create index webhook_messages_subject_idx on webhook_messages (subject);
