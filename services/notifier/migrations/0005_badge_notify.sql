-- Long polling (bell v2): a request held on `GET /v1/notifications/unread-count` is woken when
-- its user's badge moves, whichever notifier instance (or other writer) committed the change.
--
-- Statement-level triggers on `recipients` send the ids of the users whose badge validator moved
-- (the ETag is made of user id, `version` and `latest_created_at`) on the channel
-- `notifier_badges`. Every writer — ingest, bell writes, purge, user events, future ones — wakes
-- pollers without code of its own, and PostgreSQL delivers a NOTIFY only when its transaction
-- commits (a rolled-back change wakes nobody). One trigger call per statement, not per row: an
-- ingest batch updating thousands of recipients in one UPDATE costs one hash join over its
-- transition tables and a few pg_notify calls.
--
-- Payload: comma-separated 32-hex user ids, 200 per notification (6,599 bytes, under the
-- 8,000-byte limit of a NOTIFY payload).

CREATE FUNCTION notify_badges_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        FOR payload IN
            SELECT string_agg(encode(uuid_send(user_id), 'hex'), ',')
            FROM (
                SELECT n.user_id, (row_number() OVER () - 1) / 200 AS chunk
                FROM changed_new n
                JOIN changed_old o ON o.user_id = n.user_id
                WHERE n.version IS DISTINCT FROM o.version
                   OR n.latest_created_at IS DISTINCT FROM o.latest_created_at
            ) AS moved
            GROUP BY chunk
        LOOP
            PERFORM pg_notify('notifier_badges', payload);
        END LOOP;
    ELSE
        -- A row created or deleted moves the badge only if it differs from the zero state a
        -- user without a row is shown (version 0, no arrival).
        FOR payload IN
            SELECT string_agg(encode(uuid_send(user_id), 'hex'), ',')
            FROM (
                SELECT r.user_id, (row_number() OVER () - 1) / 200 AS chunk
                FROM changed_rows r
                WHERE r.version <> 0 OR r.latest_created_at IS NOT NULL
            ) AS moved
            GROUP BY chunk
        LOOP
            PERFORM pg_notify('notifier_badges', payload);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables serves one event only, hence three.
CREATE TRIGGER recipients_badges_updated
    AFTER UPDATE ON recipients
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();

CREATE TRIGGER recipients_badges_inserted
    AFTER INSERT ON recipients
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();

CREATE TRIGGER recipients_badges_deleted
    AFTER DELETE ON recipients
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();
