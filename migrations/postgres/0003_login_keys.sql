-- Temporary login keys by email and SMS (issue 4): verified phone numbers, login codes next
-- to link keys, the address a verification key confirms, and the record of messages sent
-- that the send limits count. Expand-only: the previous version keeps running on it.

alter table users add column phone_verified smallint not null default 0;
create index users_phone_idx on users (phone);

-- A key row may carry a short code as well (HMAC under a master-derived key, never the code),
-- the page to continue to after a login, and the phone number a verification key confirms.
alter table login_keys add column code_hash text;
alter table login_keys add column next text;
alter table login_keys add column phone text;
create index login_keys_binding_idx on login_keys (binding_hash, purpose);

-- One row per message a person asked for (sent or refused by the limits). Recipients are
-- stored as keyed hashes only; rows older than two days are purged.
create table message_sends (
    id text primary key,
    channel text not null,
    recipient_hash text not null,
    ip text,
    organisation_id text,
    country text,
    created_at bigint not null,
    sent smallint not null
);
create index message_sends_recipient_idx on message_sends (recipient_hash, created_at);
create index message_sends_ip_idx on message_sends (ip, created_at);
create index message_sends_org_idx on message_sends (organisation_id, created_at);
create index message_sends_country_idx on message_sends (country, created_at);
create index message_sends_created_idx on message_sends (channel, created_at);
