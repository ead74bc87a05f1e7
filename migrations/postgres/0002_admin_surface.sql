-- The admin surface (issue 3): installation authority, organisations' own role lists,
-- membership provenance, client ownership and settings, invitations, one-time keys, the
-- mail/SMS outbox and a richer audit log. Expand-only: every change adds a table or a column
-- with a default, so the previous version keeps running against this schema.

alter table users add column superadmin smallint not null default 0;
alter table users add column must_change_password smallint not null default 0;

alter table organisations add column default_locale text not null default 'sv';
alter table organisations add column updated_at bigint not null default 0;

-- Each organisation's own roles, with a description. `admin` is built in.
create table organisation_roles (
    organisation_id text not null references organisations (id) on delete cascade,
    name text not null,
    description text not null default '',
    created_at bigint not null,
    constraint organisation_roles_pkey primary key (organisation_id, name)
);
insert into organisation_roles (organisation_id, name, description, created_at)
    select id, 'admin', 'Manages the members, roles and clients of the organisation', created_at
    from organisations;
insert into organisation_roles (organisation_id, name, description, created_at)
    select m.organisation_id, r.value, '', min(m.created_at)
    from memberships m, jsonb_array_elements_text(m.roles::jsonb) as r(value)
    group by m.organisation_id, r.value
    on conflict do nothing;

-- Who invited the member (a person's id, or `client:<id>` for a service client).
alter table memberships add column invited_by text;

-- The organisation that owns a client (null: the installation), the roles it may see
-- (JSON list; null: all) and whether it may be granted the `admin` scope.
alter table clients add column owner_organisation_id text references organisations (id) on delete cascade;
alter table clients add column visible_roles text;
alter table clients add column admin_api smallint not null default 0;
create index clients_owner_idx on clients (owner_organisation_id);

-- Where and from what a session was started.
alter table sessions add column ip text;
alter table sessions add column user_agent text;

create table invitations (
    id text primary key,
    key_hash text not null,
    organisation_id text not null references organisations (id) on delete cascade,
    email text not null,
    email_normalized text not null,
    roles text not null,
    invited_by text,
    created_at bigint not null,
    expires_at bigint not null,
    accepted_at bigint,
    accepted_by text,
    revoked_at bigint,
    constraint invitations_key_hash_key unique (key_hash)
);
create index invitations_organisation_idx on invitations (organisation_id, created_at);

-- Temporary keys sent to a person (or printed for the operator): stored as SHA-256 hashes,
-- single use (`used_at`), short-lived. `purpose`: setup, reset (later: login, verify).
create table login_keys (
    key_hash text primary key,
    purpose text not null,
    user_id text references users (id) on delete cascade,
    email text,
    channel text not null,
    binding_hash text,
    attempts bigint not null default 0,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index login_keys_user_idx on login_keys (user_id, purpose);

-- Messages waiting to be delivered. The payload is sealed with the master key (it may hold a
-- link or a code); a row is claimed by one sender at a time and never sent twice.
create table outbox (
    id text primary key,
    channel text not null,
    recipient text not null,
    payload text not null,
    created_at bigint not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    claimed_until bigint,
    sent_at bigint,
    last_error text
);
create index outbox_due_idx on outbox (sent_at, next_attempt_at);

-- Who did it (a person's id, `client:<id>` or `cli`) and in which organisation; `user_id`
-- stays the person the event is about.
alter table audit_events add column actor_id text;
alter table audit_events add column organisation_id text;
create index audit_events_organisation_idx on audit_events (organisation_id, at);
create index audit_events_user_idx on audit_events (user_id, at);
