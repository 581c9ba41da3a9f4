-- Audit trail (issue #5). No raw personal data anywhere: entity types, counts and HMAC
-- fingerprints only; captured bodies live encrypted in audit_payloads.

-- One row per call or admin action, partitioned by day (UTC) so retention drops whole
-- partitions instead of deleting rows. tenant_id leads every key (Citus distribution column).
-- Each gateway instance writes its own hash chain (chain_id, seq): hash = SHA-256(prev_hash ‖
-- SHA-256(canonical row encoding)), so instances never serialise on one another.
CREATE TABLE audit_events (
    tenant_id            text        NOT NULL,
    received_at          timestamptz NOT NULL,
    chain_id             text        NOT NULL,
    seq                  bigint      NOT NULL,
    event_id             uuid        NOT NULL,
    kind                 smallint    NOT NULL,          -- 0 request, 1 admin action
    key_id               text,
    request_id           text        NOT NULL,
    endpoint             text        NOT NULL,          -- admin events: the action name
    requested_model      text,
    provider             text,
    region               text,
    route_reason         text,
    decision             text        NOT NULL,
    rule_ids             text[]      NOT NULL,
    policy_version       bigint,
    entity_types         text[]      NOT NULL,          -- sorted, parallel to entity_counts
    entity_counts        bigint[]    NOT NULL,
    fingerprints         text[]      NOT NULL,
    prompt_tokens        bigint,
    cached_prompt_tokens bigint,
    completion_tokens    bigint,
    reasoning_tokens     bigint,
    cost_usd             double precision,
    avoided_cost_usd     double precision,              -- local answers: price of the requested remote model
    first_byte_at        timestamptz,
    completed_at         timestamptz,
    latency_ms           bigint,
    status               bigint,
    error_code           text,
    client_address       text,
    actor                text,
    target               text,
    details              text,                          -- canonical JSON, admin events only
    payload_digest       bytea,                         -- SHA-256 of the encrypted bodies
    prev_hash            bytea       NOT NULL,
    hash                 bytea       NOT NULL,
    -- Retention of one tenant inside a shared partition blanks the row but keeps its content
    -- digest (signed with the checkpoint key) so the chain still verifies.
    redacted             boolean     NOT NULL DEFAULT false,
    content_digest       bytea,
    redaction_mac        bytea,
    PRIMARY KEY (tenant_id, received_at, chain_id, seq)
) PARTITION BY RANGE (received_at);

-- Verification walks a chain in order.
CREATE INDEX audit_events_chain ON audit_events (chain_id, seq);
-- Search and reports filter a tenant's time range by these; the PK serves tenant+time alone.
CREATE INDEX audit_events_tenant_decision ON audit_events (tenant_id, decision, received_at);
CREATE INDEX audit_events_tenant_model ON audit_events (tenant_id, requested_model, received_at);
CREATE INDEX audit_events_tenant_provider ON audit_events (tenant_id, provider, received_at);
CREATE INDEX audit_events_entities ON audit_events USING gin (entity_types) WHERE entity_types <> '{}';

-- The head of each chain, moved in the same transaction as every batch; the writer and the
-- spool replay lock this row, which makes replays idempotent. mac = HMAC(checkpoint key).
CREATE TABLE audit_chains (
    chain_id    text PRIMARY KEY,
    last_seq    bigint      NOT NULL DEFAULT 0,
    last_hash   bytea       NOT NULL,
    mac         bytea,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Signed anchors: hash of the chain at seq. Retention writes one for the last event of each
-- chain it removes (from_seq..seq is the removed span) so verification of what remains still
-- starts from a trusted hash. Never deleted by retention.
CREATE TABLE audit_checkpoints (
    chain_id    text        NOT NULL,
    seq         bigint      NOT NULL,
    from_seq    bigint,
    hash        bytea       NOT NULL,
    reason      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    mac         bytea       NOT NULL,
    PRIMARY KEY (chain_id, seq)
);

-- Encrypted prompt/answer bodies (AES-GCM, nonce ‖ ciphertext ‖ tag), bound to their event
-- by the additional data. Deleted in bounded batches by payload retention.
CREATE TABLE audit_payloads (
    tenant_id     text        NOT NULL,
    received_at   timestamptz NOT NULL,
    chain_id      text        NOT NULL,
    seq           bigint      NOT NULL,
    key_id        text        NOT NULL,               -- fingerprint of the payload key, not the key
    request_box   bytea       NOT NULL,
    response_box  bytea       NOT NULL,
    PRIMARY KEY (tenant_id, received_at, chain_id, seq)
);
CREATE INDEX audit_payloads_received ON audit_payloads (received_at);

CREATE TABLE legal_holds (
    id           bigserial PRIMARY KEY,
    tenant_id    text        NOT NULL,
    from_ts      timestamptz,                          -- NULL: since the beginning
    to_ts        timestamptz,                          -- NULL: until released
    reason       text        NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    released_at  timestamptz,
    released_by  text
);
CREATE INDEX legal_holds_active ON legal_holds (tenant_id) WHERE released_at IS NULL;

CREATE TABLE retention_runs (
    id                  bigserial PRIMARY KEY,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    dry_run             boolean     NOT NULL,
    trigger             text        NOT NULL,          -- scheduler or cli
    status              text        NOT NULL,          -- running, ok, failed
    partitions_dropped  text[]      NOT NULL DEFAULT '{}',
    events_redacted     bigint      NOT NULL DEFAULT 0,
    payloads_deleted    bigint      NOT NULL DEFAULT 0,
    held_tenants        text[]      NOT NULL DEFAULT '{}',
    error               text
);
