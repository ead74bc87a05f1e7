-- Erased people (backups, issue 6; GDPR erasure, issue 5): the `sub` of everyone whose data
-- was erased. A restore re-applies this list (and the newest list kept next to the backups),
-- so a person erased after a backup was taken stays erased when that backup is restored.
-- Expand-only.

create table erasure_tombstones (
    user_id text primary key,
    erased_at bigint not null
);
