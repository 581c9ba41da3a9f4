-- Tenants, their API keys (hashes only), upstream providers and versioned policies.

CREATE TABLE tenants (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name        text NOT NULL,
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of the secret part is stored; the prefix lets operators recognise a key.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    prefix      text NOT NULL,
    key_hash    bytea NOT NULL UNIQUE,
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE providers (
    name             text PRIMARY KEY,
    kind             text NOT NULL,
    base_url         text,
    region           text NOT NULL,
    models           jsonb NOT NULL DEFAULT '[]',
    config           jsonb NOT NULL DEFAULT '{}',  -- priority, weight, prices, api_key_env (a name, never a secret)
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Immutable policy versions; a tenant's active pointer moves on apply/rollback.
CREATE TABLE policy_versions (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    version     integer NOT NULL,
    name        text NOT NULL,
    content     text NOT NULL,
    sha256      text NOT NULL,
    applied_by  text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, version)
);

CREATE TABLE tenant_policies (
    tenant_id          text PRIMARY KEY REFERENCES tenants(id),
    policy_version_id  bigint NOT NULL REFERENCES policy_versions(id),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
