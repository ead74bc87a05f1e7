-- Core schema: people, organisations, clients, keys, sessions and the OAuth grant tables.
-- Portable types only (ARCHITECTURE.md section 3): ids TEXT, instants BIGINT unix seconds,
-- flags INTEGER, JSON as TEXT. The PostgreSQL twin has the same tables and columns.

create table users (
    id text primary key,
    email text not null,
    email_normalized text not null,
    email_verified smallint not null default 0,
    name text,
    phone text,
    password_hash text,
    locale text,
    disabled smallint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    constraint users_email_normalized_key unique (email_normalized)
);

create table organisations (
    id text primary key,
    slug text not null,
    name text not null,
    created_at bigint not null,
    constraint organisations_slug_key unique (slug)
);

create table memberships (
    user_id text not null references users (id) on delete cascade,
    organisation_id text not null references organisations (id) on delete cascade,
    roles text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint memberships_pkey primary key (user_id, organisation_id)
);
create index memberships_organisation_idx on memberships (organisation_id);

create table clients (
    id text primary key,
    name text not null,
    secret_hash text,
    public smallint not null,
    first_party smallint not null default 0,
    redirect_uris text not null,
    post_logout_redirect_uris text not null,
    grant_types text not null,
    id_token_alg text not null,
    require_organisation smallint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);

create table client_organisations (
    client_id text not null references clients (id) on delete cascade,
    organisation_id text not null references organisations (id) on delete cascade,
    constraint client_organisations_pkey primary key (client_id, organisation_id)
);

create table signing_keys (
    id text primary key,
    alg text not null,
    private_key text not null,
    public_jwk text not null,
    created_at bigint not null,
    activates_at bigint not null
);
create index signing_keys_alg_idx on signing_keys (alg, activates_at);

create table sessions (
    id_hash text primary key,
    sid text not null,
    user_id text not null references users (id) on delete cascade,
    csrf text not null,
    auth_time bigint not null,
    amr text not null,
    acr text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    expires_at bigint not null,
    constraint sessions_sid_key unique (sid)
);
create index sessions_user_idx on sessions (user_id);

create table auth_requests (
    id text primary key,
    binding_hash text not null,
    csrf text not null,
    client_id text not null references clients (id) on delete cascade,
    params text not null,
    created_at bigint not null,
    expires_at bigint not null
);

create table grants (
    id text primary key,
    client_id text not null references clients (id) on delete cascade,
    user_id text references users (id) on delete cascade,
    sid text,
    scope text not null,
    organisation_id text,
    auth_time bigint,
    amr text not null,
    acr text not null,
    created_at bigint not null,
    expires_at bigint not null,
    revoked_at bigint
);
create index grants_user_idx on grants (user_id);

create table auth_codes (
    code_hash text primary key,
    grant_id text not null references grants (id) on delete cascade,
    client_id text not null,
    redirect_uri text not null,
    nonce text,
    code_challenge text,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

create table refresh_tokens (
    token_hash text primary key,
    grant_id text not null references grants (id) on delete cascade,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index refresh_tokens_grant_idx on refresh_tokens (grant_id);

create table revoked_access_tokens (
    jti text primary key,
    expires_at bigint not null
);

create table consents (
    user_id text not null references users (id) on delete cascade,
    client_id text not null references clients (id) on delete cascade,
    scope text not null,
    created_at bigint not null,
    constraint consents_pkey primary key (user_id, client_id)
);

create table login_throttle (
    key text primary key,
    failures bigint not null,
    last_failure_at bigint not null
);

create table audit_events (
    id text primary key,
    at bigint not null,
    kind text not null,
    user_id text,
    client_id text,
    ip text,
    detail text not null
);
create index audit_events_at_idx on audit_events (at);
