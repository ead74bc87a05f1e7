-- Passkeys (issue 5): a person's WebAuthn credentials, and the challenges of ceremonies in
-- progress. Challenges live in the database so any node can finish what another started;
-- each is used at most once (one `update ... where used_at is null ... returning`), only by
-- the browser context it was issued to (`binding`), and only before `expires_at`. Expired and
-- used challenges are deleted by the cleanup job. Expand-only.

create table passkeys (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    -- The credential id, base64url without padding.
    credential_id text not null,
    name text not null,
    -- The webauthn-rs `Passkey` as JSON: public key, counter, backup state. No secret.
    credential text not null,
    created_at bigint not null,
    last_used_at bigint,
    constraint passkeys_credential_id_key unique (credential_id)
);
create index passkeys_user_idx on passkeys (user_id);

create table webauthn_challenges (
    -- At least 128 random bits, base64url.
    id text primary key,
    -- 'register' or 'authenticate'.
    purpose text not null,
    user_id text references users (id) on delete cascade,
    -- SHA-256 of the browser context the challenge was issued to.
    binding text not null,
    -- The serialised ceremony state (never logged, never shown).
    state text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index webauthn_challenges_expires_idx on webauthn_challenges (expires_at);
create index webauthn_challenges_user_idx on webauthn_challenges (user_id);
