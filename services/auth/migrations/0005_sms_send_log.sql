-- The SMS budget: one row per SMS code sent, whoever asked and whatever happened to 2FA since.
-- Turning 2FA off deletes phone_verifications but never this log, so the per-user, per-number
-- and per-organisation limits cannot be reset by the user. Rows are kept two days (the daily
-- limits read the last 24 hours) and purged by housekeeping.
CREATE TABLE sms_send_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    phone_number     text NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    sent_at          timestamptz NOT NULL
);

CREATE INDEX sms_send_log_user_idx ON sms_send_log (user_id, sent_at DESC);
CREATE INDEX sms_send_log_number_idx ON sms_send_log (phone_number, sent_at DESC);
CREATE INDEX sms_send_log_organization_idx ON sms_send_log (organization_id, sent_at DESC);
CREATE INDEX sms_send_log_sent_at_idx ON sms_send_log (sent_at);

-- Turning 2FA on ends the user's other sessions (a password-only session must not outlive it).
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN
    ('logout', 'refresh_token_reused', 'password_changed', 'deactivated', 'two_factor_disabled',
     'two_factor_enabled'));
