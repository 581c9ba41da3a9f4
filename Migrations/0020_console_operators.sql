-- Web console (/console): operators, their verification runs, and the index the audit
-- explorer needs to list the newest events across tenants without sorting whole partitions.

-- Operator tokens are created by `airlock operator create`; only their SHA-256 is stored,
-- the prefix lets an operator recognise a token in listings.
CREATE TABLE console_operators (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    role             text NOT NULL CHECK (role IN ('auditor', 'admin')),
    prefix           text NOT NULL,
    token_hash       bytea NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    last_sign_in_at  timestamptz
);

-- Chain verifications started from the console (who, when, which range, outcome).
CREATE TABLE console_verification_runs (
    id                  bigserial PRIMARY KEY,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    operator_id         text        NOT NULL,
    range_from          timestamptz,
    range_to            timestamptz,
    chains              integer     NOT NULL,
    events_checked      bigint      NOT NULL,
    ok                  boolean     NOT NULL,
    signatures_checked  boolean     NOT NULL,
    problems            text[]      NOT NULL DEFAULT '{}'   -- "chain: sequence N: kind", never row content
);

CREATE INDEX audit_events_received ON audit_events (received_at, chain_id, seq);
