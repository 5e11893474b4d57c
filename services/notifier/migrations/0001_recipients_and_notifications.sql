-- The notifier's own projection of users (from the auth service's user events) and the
-- notifications themselves. Text is never stored: the type and its parameters are, and
-- title/body are rendered at read time in the recipient's current language.
CREATE TABLE recipients (
    user_id          uuid PRIMARY KEY,
    organization_id  uuid NOT NULL,
    language         text NOT NULL DEFAULT 'en' CHECK (language IN ('nl', 'fr', 'en', 'de')),
    active           boolean NOT NULL DEFAULT true,
    -- Maintained in the same transaction as every change to the user's notifications, so the
    -- badge can never drift from the list, and `version` gives a strong ETag for polling.
    unread_count     integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    version          bigint NOT NULL DEFAULT 0,
    latest_created_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX recipients_active_by_organization_idx
    ON recipients (organization_id) WHERE active;

CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES recipients (user_id) ON DELETE CASCADE,
    event_id    uuid NOT NULL,
    type        text NOT NULL,
    params      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    -- Redelivery of an event is harmless: one notification per (event, user), forever.
    CONSTRAINT notifications_event_user_key UNIQUE (event_id, user_id)
);

-- Newest-first keyset pages per user, all and unread only.
CREATE INDEX notifications_user_page_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_user_unread_idx
    ON notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL;
-- Retention purges by age.
CREATE INDEX notifications_created_at_idx ON notifications (created_at);
