-- Security self-service (issue 16): the owner ends sessions from the sessions page, and each
-- audit entry keeps the user agent of the request that caused it, so the security history can
-- say from which device (entries written before this migration show none).

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN
    ('logout', 'refresh_token_reused', 'password_changed', 'deactivated', 'two_factor_disabled',
     'two_factor_enabled', 'ended_by_user'));

-- Nullable without a default: adding it rewrites nothing.
ALTER TABLE audit_log ADD COLUMN user_agent text CHECK (length(user_agent) <= 512);
