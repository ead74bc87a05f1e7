-- Scheduled backups (issue 6): the last result of the nightly run, overall (destination '*')
-- and per destination, so every node's metrics show the age of the newest good backup and
-- the last result, whichever node ran it. Expand-only.

create table backup_status (
    destination text primary key,
    last_run_at bigint not null,
    last_ok bigint not null,
    last_success_at bigint,
    last_backup text,
    runs_ok bigint not null default 0,
    runs_failed bigint not null default 0
);
