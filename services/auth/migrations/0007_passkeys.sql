-- Passkeys (WebAuthn) as a second factor beside the authenticator app (issue 16). A user with a
-- passkey has 2FA on; two_factor.passkeys counts their passkeys (changed in the transaction
-- that adds or removes one), so "is 2FA on" stays one row read.

CREATE TABLE passkeys (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    credential_id  bytea NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
    public_key     bytea NOT NULL,
    sign_count     bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    transports     text[] NOT NULL DEFAULT '{}',
    aaguid         uuid,
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64 AND name = btrim(name)),
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz
);

CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);

ALTER TABLE two_factor
    ADD COLUMN passkeys integer NOT NULL DEFAULT 0 CHECK (passkeys >= 0);

-- WebAuthn challenges: single use (deleted when a response is accepted), about 5 minutes,
-- bound to the user and the ceremony, and for a login to its mfa challenge. Stored as SHA-256
-- digests of the random challenge.
CREATE TABLE webauthn_challenges (
    challenge_hash  bytea PRIMARY KEY CHECK (length(challenge_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users (id),
    purpose         text NOT NULL CHECK (purpose IN ('registration', 'authentication')),
    mfa_token_hash  bytea REFERENCES mfa_challenges (token_hash) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    CONSTRAINT webauthn_challenges_login_bound
        CHECK ((purpose = 'authentication') = (mfa_token_hash IS NOT NULL))
);

CREATE INDEX webauthn_challenges_user_idx ON webauthn_challenges (user_id);
CREATE INDEX webauthn_challenges_expires_idx ON webauthn_challenges (expires_at);
