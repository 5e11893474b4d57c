-- Two-factor authentication: SMS confirmation of a mobile number, the TOTP secret (sealed with
-- AES-GCM, the user id as associated data), replay protection, recovery codes, the second login
-- step and per-user code-failure counters. Codes and tokens are stored only as digests.

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN
    ('logout', 'refresh_token_reused', 'password_changed', 'deactivated', 'two_factor_disabled'));

-- One row per user who started enrolling. The secret is 'pending' until a valid code confirms
-- it, then 'active' (2FA is on). last_step only ever moves forward: a code is accepted once.
CREATE TABLE two_factor (
    user_id              uuid PRIMARY KEY REFERENCES users (id),
    phone_number         text CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    phone_confirmed_at   timestamptz,
    sealed_secret        bytea,
    secret_state         text CHECK (secret_state IN ('pending', 'active')),
    enabled_at           timestamptz,
    last_step            bigint,
    code_failures        integer NOT NULL DEFAULT 0 CHECK (code_failures >= 0),
    code_failures_since  timestamptz,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT two_factor_secret_consistent CHECK ((sealed_secret IS NULL) = (secret_state IS NULL)),
    CONSTRAINT two_factor_enabled_consistent CHECK ((secret_state = 'active') = (enabled_at IS NOT NULL))
);

-- SMS codes sent to confirm a number: a keyed digest bound to user and number, 10 minutes,
-- single use, at most 5 wrong tries. Rows also drive the resend cooldown and hourly caps.
CREATE TABLE phone_verifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    phone_number  text NOT NULL,
    code_digest   bytea NOT NULL CHECK (length(code_digest) = 32),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed_at   timestamptz
);

CREATE INDEX phone_verifications_user_idx ON phone_verifications (user_id, created_at DESC);
CREATE INDEX phone_verifications_number_idx ON phone_verifications (phone_number, created_at DESC);

-- Recovery codes (SHA-256 of the normalised 60-bit code), single use.
CREATE TABLE recovery_codes (
    user_id      uuid NOT NULL REFERENCES users (id),
    code_digest  bytea NOT NULL CHECK (length(code_digest) = 32),
    created_at   timestamptz NOT NULL,
    used_at      timestamptz,
    PRIMARY KEY (user_id, code_digest)
);

-- The half-done login between the password and the second factor: a single-use token
-- (SHA-256 digest), short-lived, dead after 5 wrong codes.
CREATE TABLE mfa_challenges (
    token_hash       bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id          uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    failed_attempts  integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    consumed_at      timestamptz
);

CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
