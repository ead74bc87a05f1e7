-- Send budgets per purpose (issue 14, defect 3): every recorded message names the budget it
-- was counted in (`anonymous`: login and recovery keys anyone can ask for; `own_channel`:
-- a code to a person's own verified channel after they proved another factor, such as a
-- second-factor SMS; `new_channel`: a confirmation of an address or number a person who
-- proved a factor names), and the keyed hash of that person. Cooldowns and the caps per
-- recipient, per IP address and per person count within one budget, so anonymous requests
-- never spend what a person who proved their password needs (`sms::limits`).
-- Expand-only: rows of the previous version (and rows it still writes during a rolling
-- upgrade) count as anonymous, which is never more generous than before.

alter table message_sends add column budget text not null default 'anonymous';
alter table message_sends add column person_hash text;

-- One index per counted scope, its value first, then everything the counts compare with
-- `=`, then the time. With only `(scope, created_at)` SQLite preferred
-- `(channel, created_at)` and read every SMS of the day for each count.
create index message_sends_recipient_budget_idx on message_sends (recipient_hash, channel, budget, created_at);
create index message_sends_ip_budget_idx on message_sends (ip, channel, budget, created_at);
create index message_sends_person_idx on message_sends (person_hash, channel, budget, created_at);
create index message_sends_org_channel_idx on message_sends (organisation_id, channel, created_at);
create index message_sends_country_channel_idx on message_sends (country, channel, created_at);
