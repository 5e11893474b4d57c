"""The bell API's SQL, in one place (the repository beside it runs it).

Lock order. A user's recipient row lock serializes every change to its counters. The ingest
locks the recipients a batch can reach first (in user_id order, ingest/sql.py's
LOCK_RECIPIENTS) and only then inserts notification rows. The bell's writers change existing
notification rows first and then the one recipient row (MARK_READ, MARK_ALL_READ_UP_TO_NOW); the
purge deletes notification rows (SKIP LOCKED) and then locks recipient rows in user_id order
(LOCK_RECIPIENTS below). The orders differ, yet they cannot wait on each other in a cycle in
practice: the ingest only inserts new rows (ON CONFLICT DO NOTHING locks no existing row), and a
bell writer holds one recipient row at most. The rare cycle left — a redelivered event colliding
with a row a purge batch is deleting while the ingest holds that user's recipient row — ends in
a deadlock error, and the unit of work runs the loser again.
"""

from typing import Final

RECIPIENT_STATE: Final = """
SELECT user_id, unread_count, version, latest_created_at, language, provisional
FROM recipients
WHERE user_id = $1
"""

# The badges of every poll waiting at that moment, by primary key.
RECIPIENT_STATES: Final = """
SELECT user_id, unread_count, version, latest_created_at, language, provisional
FROM recipients
WHERE user_id = ANY($1::uuid[])
"""

_PAGE_SELECT: Final = """
SELECT id, type, params, created_at, read_at
FROM notifications
WHERE user_id = $1
"""
_PAGE_AFTER: Final = "  AND (created_at, id) < ($3, $4)\n"
_PAGE_UNREAD: Final = "  AND read_at IS NULL\n"
_PAGE_ORDER: Final = "ORDER BY created_at DESC, id DESC\nLIMIT $2\n"

# One constant per shape, so each gets a plan that uses the right index (the partial index for
# unread pages) instead of a generic plan full of `$n IS NULL OR …`.
PAGE_QUERIES: Final = {
    (unread_only, after): _PAGE_SELECT
    + (_PAGE_UNREAD if unread_only else "")
    + (_PAGE_AFTER if after else "")
    + _PAGE_ORDER
    for unread_only in (False, True)
    for after in (False, True)
}

# One statement: the UPDATE's snapshot decides what is marked, and the recipient row follows
# by exactly the rows changed. `found` is read from the same snapshot, so an id that is not the
# caller's looks exactly like an id that does not exist.
MARK_READ: Final = """
WITH changed AS (
    UPDATE notifications SET read_at = now()
    WHERE id = $1 AND user_id = $2 AND read_at IS NULL
    RETURNING id
), counted AS (
    UPDATE recipients
    SET unread_count = unread_count - 1, version = version + 1, updated_at = now()
    WHERE user_id = $2 AND EXISTS (SELECT 1 FROM changed)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $1 AND user_id = $2) AS found,
       EXISTS (SELECT 1 FROM counted) AS changed
"""

# The watermark is now(): the start of this single-statement transaction, i.e. the moment of
# the call. The statement's snapshot is taken at that moment too, so a notification whose
# insert commits while this runs is invisible to it and stays unread — and the recipient row,
# locked after the UPDATE, then subtracts only what this statement marked.
MARK_ALL_READ_UP_TO_NOW: Final = """
WITH changed AS (
    UPDATE notifications SET read_at = now()
    WHERE user_id = $1 AND read_at IS NULL AND created_at <= now()
    RETURNING 1
), tally AS (
    SELECT count(*)::integer AS marked FROM changed
)
UPDATE recipients r
SET unread_count = r.unread_count - tally.marked, version = r.version + 1, updated_at = now()
FROM tally
WHERE r.user_id = $1 AND tally.marked > 0
RETURNING tally.marked
"""

# A small batch of the oldest rows; SKIP LOCKED so a purge never waits behind (or blocks) a user
# marking a notification read, and several notifier instances can purge side by side.
PURGE_BATCH: Final = """
DELETE FROM notifications
WHERE id IN (
    SELECT id FROM notifications
    WHERE created_at < $1
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING user_id, read_at IS NULL AS unread
"""

# Recipient rows are locked in user id order so two purge batches never deadlock.
LOCK_RECIPIENTS: Final = """
SELECT user_id FROM recipients WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR UPDATE
"""

APPLY_PURGE_TO_RECIPIENTS: Final = """
UPDATE recipients r
SET unread_count = r.unread_count - purged.unread, version = r.version + 1, updated_at = now()
FROM unnest($1::uuid[], $2::integer[]) AS purged (user_id, unread)
WHERE r.user_id = purged.user_id
"""
