-- Everything the auth service needs beyond organisations and users: sessions (refresh token
-- families), signing keys, login throttling, the transactional outbox and the audit trail.
-- Timestamps are written by the service from its clock, so tests can move time.

-- `clochette users create --organization NAME` finds an organisation by its name.
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(btrim(name)));

ALTER TABLE users
    ADD COLUMN last_login_at  timestamptz,
    ADD COLUMN deactivated_at timestamptz,
    ADD CONSTRAINT users_deactivated_consistent CHECK (active = (deactivated_at IS NULL));

-- One row per login: the refresh token family. Revoking it ends every token of the family.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    amr             text[] NOT NULL,
    client_address  text,
    user_agent      text CHECK (length(user_agent) <= 512),
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN
                        ('logout', 'refresh_token_reused', 'password_changed', 'deactivated')),
    CONSTRAINT sessions_revocation_consistent CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE INDEX sessions_live_by_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Refresh tokens are stored as SHA-256 digests only. A used token keeps its row (used_at set)
-- until its session is purged, so presenting it again is recognised as reuse.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Ed25519 signing keys. The private key is sealed with AES-GCM under a key derived from
-- CLOCHETTE_SECRET_KEY (the kid is the associated data) and wiped once the key is superseded;
-- the public key stays published until every token it signed has expired.
CREATE TABLE signing_keys (
    kid                 text PRIMARY KEY CHECK (length(kid) BETWEEN 1 AND 100),
    public_key          bytea NOT NULL CHECK (length(public_key) = 32),
    sealed_private_key  bytea,
    created_at          timestamptz NOT NULL,
    activates_at        timestamptz NOT NULL
);

CREATE UNIQUE INDEX signing_keys_activates_at_key ON signing_keys (activates_at);

-- Failed-login counters per account (normalised e-mail, known or not) and per client address.
-- Rows are locked while an attempt is admitted, so parallel attempts queue like sequential ones.
CREATE TABLE login_throttle (
    scope                text NOT NULL CHECK (scope IN ('account', 'address')),
    key                  text NOT NULL CHECK (length(key) BETWEEN 1 AND 400),
    failures             integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at      timestamptz,
    blocked_until        timestamptz,
    audited_block_until  timestamptz,
    PRIMARY KEY (scope, key)
);

CREATE INDEX login_throttle_last_failure_idx ON login_throttle (last_failure_at);

-- Transactional outbox: rows are written in the transaction of the change they describe and
-- published to Kafka by the relay, in id order.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic         text NOT NULL CHECK (length(topic) BETWEEN 1 AND 249),
    key           text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    published_at  timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Security events for support staff. Never a password, hash, code or token: `details` is built
-- from fixed keys by the service. No foreign keys, so the trail outlives what it mentions.
CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at      timestamptz NOT NULL,
    event            text NOT NULL,
    user_id          uuid,
    organization_id  uuid,
    email            text,
    client_address   text,
    request_id       text,
    details          jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_user_idx ON audit_log (user_id, occurred_at DESC);
CREATE INDEX audit_log_email_idx ON audit_log (email, occurred_at DESC);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);

COMMENT ON TABLE audit_log IS
    'Security events (logins, throttling, password and language changes, token reuse). '
    'Example: SELECT occurred_at, event, client_address, details FROM auth.audit_log '
    'WHERE email = ''jan@example.be'' ORDER BY occurred_at DESC LIMIT 50;';
