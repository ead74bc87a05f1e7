-- A client may require every login through it to be of two factors (issue 15: the first
-- setting behind the finished-upgrade gate, docs/upgrades.md). Expand-only: the previous
-- version ignores the column, which is why switching it on waits for the upgrade to finish.
alter table clients add column require_two_factors smallint not null default 0;
