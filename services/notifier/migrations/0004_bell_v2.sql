-- The bell, second version (contract 5.1): categories, seen vs read, archive, mutes.
--
-- Visibility. An item is *visible* when it is not archived and not hidden by a mute:
--     archived_at IS NULL AND (category <> 'info' OR type <> ALL (recipients.muted_types))
-- A mute never hides an `action` or `security` item (a double payment still shows when
-- `payment.received` is muted). Every counter of the recipient row counts visible items only and
-- changes in the same transaction as the rows it counts:
--     unread_count    = visible AND read_at IS NULL
--     unread_<c>      = visible AND read_at IS NULL AND category = c   (c: action, info, security)
--     unseen_count    = visible AND seen_at IS NULL
-- Reading implies seeing (CHECK below), so the unseen items are a subset of the unread ones and
-- the seen watermark is served by the unread partial index.

-- A constant default makes ADD COLUMN a catalog change; it is dropped after the backfill so that
-- every writer has to name the category (a forgotten one fails instead of defaulting to info).
ALTER TABLE notifications
    ADD COLUMN category text NOT NULL DEFAULT 'info'
        CONSTRAINT notifications_category_check CHECK (category IN ('action', 'info', 'security')),
    ADD COLUMN seen_at timestamptz,
    ADD COLUMN archived_at timestamptz;

UPDATE notifications
SET category = CASE
        WHEN type IN ('reminder.created', 'peppol.failed', 'mail.failed') THEN 'action'
        WHEN type = 'payment.received' AND params ->> 'status' = 'double' THEN 'action'
        WHEN type LIKE 'security.%' THEN 'security'
        ELSE 'info'
    END
WHERE type IN ('reminder.created', 'peppol.failed', 'mail.failed', 'payment.received')
   OR type LIKE 'security.%';

-- What was read before seen existed was seen then.
UPDATE notifications SET seen_at = read_at WHERE read_at IS NOT NULL;

ALTER TABLE notifications ALTER COLUMN category DROP DEFAULT;

-- A remembered broadcast keeps its category too: a member created later gets the item as it was.
ALTER TABLE broadcasts
    ADD COLUMN category text NOT NULL DEFAULT 'info'
        CONSTRAINT broadcasts_category_check CHECK (category IN ('action', 'info', 'security'));
UPDATE broadcasts
SET category = CASE
        WHEN type IN ('reminder.created', 'peppol.failed', 'mail.failed') THEN 'action'
        WHEN type = 'payment.received' AND params ->> 'status' = 'double' THEN 'action'
        WHEN type LIKE 'security.%' THEN 'security'
        ELSE 'info'
    END
WHERE type IN ('reminder.created', 'peppol.failed', 'mail.failed', 'payment.received')
   OR type LIKE 'security.%';
ALTER TABLE broadcasts ALTER COLUMN category DROP DEFAULT;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_read_implies_seen CHECK (read_at IS NULL OR seen_at IS NOT NULL);

-- The archive tab (no entry for a new item, so no cost to the ingest).
CREATE INDEX notifications_user_archived_idx
    ON notifications (user_id, created_at DESC, id DESC) WHERE archived_at IS NOT NULL;

ALTER TABLE recipients
    ADD COLUMN unseen_count integer NOT NULL DEFAULT 0 CHECK (unseen_count >= 0),
    ADD COLUMN unread_action integer NOT NULL DEFAULT 0 CHECK (unread_action >= 0),
    ADD COLUMN unread_info integer NOT NULL DEFAULT 0 CHECK (unread_info >= 0),
    ADD COLUMN unread_security integer NOT NULL DEFAULT 0 CHECK (unread_security >= 0),
    -- Types whose info items the user has muted (only mutable types: see the API).
    ADD COLUMN muted_types text[] NOT NULL DEFAULT '{}';

UPDATE recipients r
SET unseen_count = c.unread,
    unread_action = c.action,
    unread_info = c.info,
    unread_security = c.security
FROM (
    SELECT user_id,
           count(*)::integer AS unread,
           (count(*) FILTER (WHERE category = 'action'))::integer AS action,
           (count(*) FILTER (WHERE category = 'info'))::integer AS info,
           (count(*) FILTER (WHERE category = 'security'))::integer AS security
    FROM notifications
    WHERE read_at IS NULL
    GROUP BY user_id
) c
WHERE r.user_id = c.user_id;

-- The total is the sum of its parts, in every row, always.
ALTER TABLE recipients
    ADD CONSTRAINT recipients_unread_by_category_check
        CHECK (unread_count = unread_action + unread_info + unread_security),
    ADD CONSTRAINT recipients_unseen_within_unread_check CHECK (unseen_count <= unread_count);
