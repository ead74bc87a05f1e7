-- Scheduled jobs run once across the cluster (issue 7): a node runs a job only after taking
-- its lease, one atomic statement. Expand-only.

create table job_leases (
    name text primary key,
    holder text not null,
    leased_until bigint not null,
    last_run_at bigint
);
