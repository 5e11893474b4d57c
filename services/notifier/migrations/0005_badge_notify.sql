-- Long polling (bell v2): a request held on `GET /v1/notifications/unread-count` is woken when
-- its user's badge moves, whichever notifier instance (or other writer) committed the change.
--
-- Statement-level triggers on `recipients` send the ids of the users whose row changed on the
-- channel `notifier_badges`. Every writer — ingest, bell writes, purge, user events, future ones
-- — wakes pollers without code of its own, and PostgreSQL delivers a NOTIFY only when its
-- transaction commits (a rolled-back change wakes nobody). One trigger call per statement, not
-- per row.
--
-- An UPDATE announces every row it updated, not only those whose badge validator (`version`,
-- `latest_created_at`) moved: comparing needs the OLD transition table too and a join, which
-- measured +26-32 % on an ingest-sized UPDATE of 4,545 recipients, against about nothing for the
-- NEW table alone. Every writer of the badge bumps `version` anyway; the other updates (a user's
-- language, `active`, a provisional row confirmed) are rare, and a woken request that finds its
-- ETag unchanged just waits on.
--
-- Payload: comma-separated 32-hex user ids, 200 per notification (6,599 bytes, under the
-- 8,000-byte limit of a NOTIFY payload).

CREATE FUNCTION notify_badges_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    -- A row created or deleted moves the badge only if it differs from the zero state a user
    -- without a row is shown (version 0, no arrival); an updated one is announced as it is.
    FOR payload IN
        SELECT string_agg(encode(uuid_send(user_id), 'hex'), ',')
        FROM (
            SELECT r.user_id, (row_number() OVER () - 1) / 200 AS chunk
            FROM changed_rows r
            WHERE TG_OP = 'UPDATE' OR r.version <> 0 OR r.latest_created_at IS NOT NULL
        ) AS moved
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('notifier_badges', payload);
    END LOOP;
    RETURN NULL;
END
$$;

-- A trigger with transition tables serves one event only, hence three.
CREATE TRIGGER recipients_badges_updated
    AFTER UPDATE ON recipients
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();

CREATE TRIGGER recipients_badges_inserted
    AFTER INSERT ON recipients
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();

CREATE TRIGGER recipients_badges_deleted
    AFTER DELETE ON recipients
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_badges_changed();
