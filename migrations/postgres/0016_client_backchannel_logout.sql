-- OpenID Connect Back-Channel Logout 1.0 (issue 17): where a client is told that a session
-- ended, and whether it needs the `sid` claim. Expand-only: the previous version ignores the
-- columns, which is why setting them waits for the upgrade to finish (docs/upgrades.md): a
-- node of the previous version could not deliver the logout tokens queued for them.
alter table clients add column backchannel_logout_uri text;
alter table clients add column backchannel_logout_session_required smallint not null default 0;
