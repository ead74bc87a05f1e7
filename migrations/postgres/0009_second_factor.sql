-- Two-factor login and step-up (issue 5): a person may require a second factor of
-- themselves, an organisation of its members; a login that passed its first factor and waits
-- for the second is a row in `login_steps` (keyed by the SHA-256 of the step cookie).
-- Expand-only: the previous version keeps running on it.

alter table users add column second_factor smallint not null default 0;
alter table organisations add column require_two_factors smallint not null default 0;

create table login_steps (
    id_hash text primary key,
    user_id text not null references users (id) on delete cascade,
    -- The first factor's RFC 8176 methods (JSON list).
    first_amr text not null,
    -- The pending authorization request this login continues, if any.
    request_id text,
    -- The local path to continue to afterwards.
    next text,
    ip text,
    user_agent text,
    -- The cookie hash of the session this login replaces (a step-up replaces it).
    replaces text,
    -- 1 when this step steps up a live session (OIDC acr_values, an organisation's rule).
    step_up smallint not null default 0,
    created_at bigint not null,
    expires_at bigint not null,
    failures bigint not null default 0,
    used_at bigint
);
create index login_steps_user_idx on login_steps (user_id);
create index login_steps_expires_idx on login_steps (expires_at);
