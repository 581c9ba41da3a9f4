-- Rollups behind the console overview (issue #8): per hour and per complete day, the calls
-- (kind 0) of audit_events summed by tenant, decision, destination and requested model, and
-- the entity types found. Written only by AuditRollupRefresher; readers use a day's rows only
-- while audit_rollup_coverage proves they still match audit_events (see AuditRollupReader),
-- everything else is read live, so the overview equals the live aggregate for any range.

CREATE TABLE audit_rollup_hours (
    hour               timestamptz      NOT NULL,
    tenant_id          text             NOT NULL,
    decision           text             NOT NULL,
    region             text,
    provider           text,
    requested_model    text,
    calls              bigint           NOT NULL,
    prompt_tokens      bigint           NOT NULL,
    completion_tokens  bigint           NOT NULL,
    cost_usd           double precision NOT NULL,
    avoided_cost_usd   double precision NOT NULL   -- local answers only, as the report counts it
);
CREATE INDEX audit_rollup_hours_hour ON audit_rollup_hours (hour, tenant_id);

CREATE TABLE audit_rollup_days (
    day                timestamptz      NOT NULL,
    tenant_id          text             NOT NULL,
    decision           text             NOT NULL,
    region             text,
    provider           text,
    requested_model    text,
    calls              bigint           NOT NULL,
    prompt_tokens      bigint           NOT NULL,
    completion_tokens  bigint           NOT NULL,
    cost_usd           double precision NOT NULL,
    avoided_cost_usd   double precision NOT NULL
);
CREATE INDEX audit_rollup_days_day ON audit_rollup_days (day, tenant_id);

CREATE TABLE audit_rollup_entity_hours (
    hour         timestamptz NOT NULL,
    tenant_id    text        NOT NULL,
    entity_type  text        NOT NULL,
    found        bigint      NOT NULL
);
CREATE INDEX audit_rollup_entity_hours_hour ON audit_rollup_entity_hours (hour, tenant_id);

CREATE TABLE audit_rollup_entity_days (
    day          timestamptz NOT NULL,
    tenant_id    text        NOT NULL,
    entity_type  text        NOT NULL,
    found        bigint      NOT NULL
);
CREATE INDEX audit_rollup_entity_days_day ON audit_rollup_entity_days (day, tenant_id);

-- One row per UTC day: the rollups cover [day, upto) (whole hours). What the day looked like
-- when it was rolled up, so a reader can prove nothing changed since: per chain the highest
-- sequence (an event committed later has a higher one: late spool replays), per tenant the
-- rows retention had blanked (decision ''), and the row count (a dropped partition has none).
CREATE TABLE audit_rollup_coverage (
    day           timestamptz PRIMARY KEY,
    upto          timestamptz NOT NULL,
    events        bigint      NOT NULL,
    chain_ids     text[]      NOT NULL,
    chain_seqs    bigint[]    NOT NULL,
    tenant_ids    text[]      NOT NULL,
    blank_counts  bigint[]    NOT NULL,
    refreshed_at  timestamptz NOT NULL DEFAULT now()
);
