-- SCIM 2.0 provisioning (issue 18). Expand-only: the previous version ignores both tables,
-- which is why the SCIM endpoints wait for the upgrade to finish (docs/upgrades.md).
--
-- A SCIM User is the provisioning record an organisation's platform keeps of one of its
-- people: the platform's own document (`resource`, JSON, as written by the platform, without
-- `id`, `meta` and `groups`), and the projections Nyckel indexes and acts on. `user_id` is the
-- person's account once they are a member: at once when they already were one, else when they
-- accept the invitation mailed to `email` (`invitation_id`). `active` = 0 suspends the
-- membership (it is ended and comes back when the record is active again). `roles` is the
-- JSON list of the organisation's roles the platform gives the person.
create table scim_users (
    id text primary key,
    organisation_id text not null references organisations (id) on delete cascade,
    user_id text references users (id) on delete cascade,
    user_name text not null,
    user_name_key text not null,
    external_id text,
    email text not null,
    active smallint not null,
    roles text not null,
    resource text not null,
    invitation_id text,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index scim_users_user_name_key on scim_users (organisation_id, user_name_key);
create unique index scim_users_external_id_key on scim_users (organisation_id, external_id)
    where external_id is not null;
create unique index scim_users_member_key on scim_users (organisation_id, user_id)
    where user_id is not null;
create index scim_users_email_idx on scim_users (organisation_id, email);
create index scim_users_user_idx on scim_users (user_id);

-- A SCIM Group is one of the organisation's roles (`organisation_roles`); this row holds what
-- the platform said about it beyond the role's name: its display name and external id.
-- Roles without a row are groups too (display name = role name).
create table scim_groups (
    organisation_id text not null,
    role text not null,
    display_name text not null,
    external_id text,
    created_at bigint not null,
    updated_at bigint not null,
    constraint scim_groups_pkey primary key (organisation_id, role),
    constraint scim_groups_role_fkey foreign key (organisation_id, role)
        references organisation_roles (organisation_id, name) on delete cascade
);
create unique index scim_groups_external_id_key on scim_groups (organisation_id, external_id)
    where external_id is not null;

-- A member import started in the admin UI (`nyckel org import` runs in the foreground and
-- keeps no row): its progress, readable from any node while it runs on the one that took
-- the file. No personal data: counts, and the refused rows' line numbers and reasons.
-- `state` is running, done or failed; a running import whose row stopped changing was
-- interrupted (its node stopped); importing the file again finishes it.
create table member_imports (
    id text primary key,
    organisation_id text not null references organisations (id) on delete cascade,
    file_name text not null,
    state text not null,
    total bigint not null,
    done bigint not null,
    summary text not null,
    refused text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index member_imports_org_idx on member_imports (organisation_id, created_at);
