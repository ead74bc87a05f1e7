-- OpenID Connect Front-Channel Logout 1.0 (issue 17): a page of the client that the logged-out
-- page loads in an iframe, and whether it needs `iss` and `sid`. Expand-only: the previous
-- version ignores the columns, which is why setting them waits for the upgrade to finish
-- (docs/upgrades.md): a node of the previous version would not render the iframes.
alter table clients add column frontchannel_logout_uri text;
alter table clients add column frontchannel_logout_session_required integer not null default 0;
