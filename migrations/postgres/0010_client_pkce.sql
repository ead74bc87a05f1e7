-- PKCE for every client (issue 14, defect 4; RFC 9700 2.1.1): confidential clients must send
-- a code_challenge too, unless registered with the documented opt-out for legacy apps.
-- Expand-only: the previous version ignores the column (docs/upgrades.md).
alter table clients add column require_pkce smallint not null default 1;
