-- Upgrades that never let an older node ignore a newer security setting (issue 15,
-- docs/upgrades.md "Settings new in a release"): every node records the version it runs
-- (`node_versions`, a heartbeat), and the installation records the version its last
-- upgrade was finished to (`installation_settings`, name `finished_version`). A setting a
-- release introduces can be switched on only once the upgrade to that release is finished;
-- a node older than the finished version stops serving.
-- Expand-only: the previous version does not know these tables.

create table node_versions (
    node text primary key,
    version text not null,
    started_at bigint not null,
    last_seen_at bigint not null
);
create index node_versions_seen_idx on node_versions (last_seen_at);

create table installation_settings (
    name text primary key,
    value text not null,
    updated_at bigint not null
);
