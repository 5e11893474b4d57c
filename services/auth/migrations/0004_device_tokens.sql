-- Account security, second version (issue 13): device tokens, forgiveness of typos on a shared
-- address, and a daily cap on wrong second-factor codes.

-- Device tokens (OWASP "device cookies"): a device that logged in before is throttled by its
-- own failure counter only, so guessing from elsewhere neither locks its owner out nor gets a
-- shared address blocked. Stored as SHA-256 digests only; a token is not a credential.
CREATE TABLE device_tokens (
    token_hash       bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id          uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    last_used_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at  timestamptz,
    blocked_until    timestamptz
);

CREATE INDEX device_tokens_user_idx ON device_tokens (user_id);
CREATE INDEX device_tokens_expires_idx ON device_tokens (expires_at);

-- Failures of one account from one address ('address_account'): a right password on that
-- account takes them back from the address counter (typos are forgiven), while failures spread
-- over many accounts (credential stuffing) stay counted.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'address', 'address_account'));

-- Wrong second-factor codes per user and day, with an escalating lock-out after each window cap.
ALTER TABLE two_factor
    ADD COLUMN code_failures_today        integer NOT NULL DEFAULT 0 CHECK (code_failures_today >= 0),
    ADD COLUMN code_failures_today_since  timestamptz,
    ADD COLUMN code_blocked_until         timestamptz;
