"""The bell API's SQL, in one place (the repository beside it runs it; the list queries are in
page_sql.py).

Visibility and counters: see migration 0004's header. `visible(n)` below is that rule, with the
muted types of the recipient row the writer holds locked.

Lock order, one for every writer: **the recipient row first, then notification rows.** A user's
recipient row lock (FOR NO KEY UPDATE) serializes every change to that user's notifications and
counters:
- the ingest locks the recipients a batch can reach (user_id order) before inserting;
- a bell writer locks its one recipient row, then changes notification rows and the counters
  with a statement that reads the rows as they are under that lock (single items: LOCK_OWNER
  first; watermarks: a first statement that names the rows of the moment of the call and then
  takes the lock, see _watermark);
- a mute locks the row, then recounts;
- the retention purge picks a batch without locking, locks its users' rows in user_id order,
  then deletes.
So no writer ever holds a notification row while waiting for a recipient row: no cycle.
"""

from typing import Final


def visible(n: str, muted: str) -> str:
    """The visibility rule of migration 0004 for row alias `n` and a text[] of muted types."""
    return f"({n}.archived_at IS NULL AND ({n}.category <> 'info' OR {n}.type <> ALL ({muted})))"


_BADGE_COLUMNS: Final = """user_id, unread_count, unseen_count, unread_action, unread_info,
       unread_security, muted_types, version, latest_created_at, language, provisional"""

# The badges of every poll waiting at that moment, by primary key.
RECIPIENT_STATES: Final = f"SELECT {_BADGE_COLUMNS} FROM recipients WHERE user_id = ANY($1::uuid[])"

# The first statement of a single-item writer: the lock, and the muted types under it.
LOCK_OWNER: Final = """
SELECT muted_types FROM recipients WHERE user_id = $1 FOR NO KEY UPDATE
"""

# What one row adds to the counters (unread, action, info, security, unseen), as integers.
_CONTRIBUTION: Final = """
    ({vis} AND {n}.read_at IS NULL)::int AS {p}unread,
    ({vis} AND {n}.read_at IS NULL AND {n}.category = 'action')::int AS {p}action,
    ({vis} AND {n}.read_at IS NULL AND {n}.category = 'info')::int AS {p}info,
    ({vis} AND {n}.read_at IS NULL AND {n}.category = 'security')::int AS {p}security,
    ({vis} AND {n}.seen_at IS NULL)::int AS {p}unseen"""


def _contribution(n: str, prefix: str) -> str:
    return _CONTRIBUTION.format(vis=visible(n, "$3::text[]"), n=n, p=prefix)


def _single_item(assignments: str, condition: str) -> str:
    """Change one notification ($1) of the user ($2), whose recipient row is locked (muted
    types $3): the row as it was is read under that lock, so the counters move by exactly the
    difference between its contributions before and after. `found` tells a 404."""
    return f"""
WITH old AS (
    SELECT id, type, category, read_at, seen_at, archived_at
    FROM notifications
    WHERE id = $1 AND user_id = $2
), changed AS (
    UPDATE notifications n
    SET {assignments}
    FROM old o
    WHERE n.id = o.id AND n.user_id = $2 AND {condition}
    RETURNING {_contribution("n", "a_")}, {_contribution("o", "b_")}
), counted AS (
    UPDATE recipients r
    SET unread_count = r.unread_count + c.a_unread - c.b_unread,
        unread_action = r.unread_action + c.a_action - c.b_action,
        unread_info = r.unread_info + c.a_info - c.b_info,
        unread_security = r.unread_security + c.a_security - c.b_security,
        unseen_count = r.unseen_count + c.a_unseen - c.b_unseen,
        version = r.version + 1,
        updated_at = now()
    FROM changed c
    WHERE r.user_id = $2
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM old) AS found, EXISTS (SELECT 1 FROM counted) AS changed
"""


# Reading implies seeing.
MARK_READ: Final = _single_item(
    "read_at = now(), seen_at = coalesce(n.seen_at, now())", "n.read_at IS NULL"
)
# Unread again, but still seen: the dot stays out.
MARK_UNREAD: Final = _single_item("read_at = NULL", "n.read_at IS NOT NULL")
ARCHIVE: Final = _single_item("archived_at = now()", "n.archived_at IS NULL")
UNARCHIVE: Final = _single_item("archived_at = NULL", "n.archived_at IS NOT NULL")


# The watermarks (seen, read-all) take two statements. The first, whose snapshot is the moment
# of the call, names the rows there were then and only then takes the recipient row lock (so a
# notification committed while it waits for that lock is not named, and stays unseen/unread).
# The second, under the lock, changes the named rows that still qualify — read with a fresh
# snapshot under the lock, so the counters move by exactly what changed. (Changing the rows in
# the first statement would leave the counters to the re-check of rows changed meanwhile.)
def _watermark(candidates: str) -> str:
    return f"""
WITH named AS (
    SELECT coalesce(array_agg(n.id), '{{}}') AS ids
    FROM notifications n
    WHERE n.user_id = $1 AND n.read_at IS NULL AND n.created_at <= now(){candidates}
), owner AS (
    SELECT user_id FROM recipients WHERE user_id = $1 FOR NO KEY UPDATE
)
SELECT named.ids FROM named, owner
"""


_MUTED_NOW: Final = "(SELECT r.muted_types FROM recipients r WHERE r.user_id = $1)::text[]"

# Unseen rows are unread rows (CHECK), so the unread partial index serves it. Hidden items are
# marked seen too; only the visible ones are counted.
SEEN_CANDIDATES: Final = _watermark("\n      AND n.seen_at IS NULL")
MARK_SEEN: Final = f"""
WITH changed AS (
    UPDATE notifications n
    SET seen_at = now()
    WHERE n.id = ANY($2::uuid[]) AND n.user_id = $1 AND n.seen_at IS NULL
    RETURNING {visible("n", _MUTED_NOW)}::int AS counted
), tally AS (
    SELECT count(*)::int AS marked, coalesce(sum(counted), 0)::int AS unseen FROM changed
)
UPDATE recipients r
SET unseen_count = r.unseen_count - t.unseen, version = r.version + 1, updated_at = now()
FROM tally t
WHERE r.user_id = $1 AND t.marked > 0
RETURNING t.marked
"""

# Read-all marks visible items only; $2 the named ids.
READ_CANDIDATES: Final = _watermark("")
MARK_CATEGORY_CANDIDATES: Final = _watermark("\n      AND n.category = $2")
# A group: one type ($2) on one Brussels day, [$3, $4) in UTC (group_keys.GroupKey.bounds).
MARK_GROUP_CANDIDATES: Final = _watermark(
    "\n      AND n.type = $2 AND n.created_at >= $3 AND n.created_at < $4"
)
MARK_READ_NAMED: Final = f"""
WITH old AS (
    SELECT n.id, n.seen_at
    FROM notifications n
    WHERE n.id = ANY($2::uuid[]) AND n.user_id = $1 AND n.read_at IS NULL
      AND {visible("n", _MUTED_NOW)}
), changed AS (
    UPDATE notifications n
    SET read_at = now(), seen_at = coalesce(n.seen_at, now())
    FROM old o
    WHERE n.id = o.id
    RETURNING n.category, (o.seen_at IS NULL)::int AS unseen
), tally AS (
    SELECT count(*)::int AS marked,
           (count(*) FILTER (WHERE c.category = 'action'))::int AS action,
           (count(*) FILTER (WHERE c.category = 'info'))::int AS info,
           (count(*) FILTER (WHERE c.category = 'security'))::int AS security,
           coalesce(sum(c.unseen), 0)::int AS unseen
    FROM changed c
)
UPDATE recipients r
SET unread_count = r.unread_count - t.marked,
    unread_action = r.unread_action - t.action,
    unread_info = r.unread_info - t.info,
    unread_security = r.unread_security - t.security,
    unseen_count = r.unseen_count - t.unseen,
    version = r.version + 1,
    updated_at = now()
FROM tally t
WHERE r.user_id = $1 AND t.marked > 0
RETURNING t.marked
"""

# Every counter of recipients, recounted from the rows with the muted types `muted` (SQL text):
# the mute's recount and the invariant check share it. Unseen rows are unread rows (CHECK), so
# only the unread partial index is read.
_RECOUNT: Final = """
SELECT (count(*))::int AS unread_count,
       (count(*) FILTER (WHERE n.category = 'action'))::int AS unread_action,
       (count(*) FILTER (WHERE n.category = 'info'))::int AS unread_info,
       (count(*) FILTER (WHERE n.category = 'security'))::int AS unread_security,
       (count(*) FILTER (WHERE n.seen_at IS NULL))::int AS unseen_count
FROM notifications n
WHERE n.user_id = {user} AND n.read_at IS NULL AND {vis}
"""

# A mute (after LOCK_OWNER, or the provisional row created and locked): store the types and
# recount every counter of the user with them, in one statement; the version moves when the
# set changes.
SET_MUTED_TYPES: Final = f"""
UPDATE recipients r
SET muted_types = $2::text[],
    (unread_count, unread_action, unread_info, unread_security, unseen_count) = (
        {_RECOUNT.format(user="$1", vis=visible("n", "$2::text[]"))}
    ),
    version = r.version + (r.muted_types IS DISTINCT FROM $2::text[])::int,
    updated_at = now()
WHERE r.user_id = $1
RETURNING r.muted_types
"""

MUTED_TYPES: Final = "SELECT muted_types FROM recipients WHERE user_id = $1"

# A user without a recipient row yet gets one, provisional (as the ingest creates unknown
# users), from the token's organization and language; then it is locked.
ADD_PROVISIONAL_RECIPIENT: Final = """
INSERT INTO recipients (user_id, organization_id, language, provisional)
VALUES ($1, $2, $3, true)
ON CONFLICT (user_id) DO NOTHING
"""

# Recipients whose counters differ from their rows (must be none): the invariant "every counter
# equals its list", for tests and the chaos checks.
COUNTER_DRIFT: Final = f"""
SELECT r.user_id,
       (r.unread_count, r.unread_action, r.unread_info, r.unread_security, r.unseen_count)::text
           AS stored,
       (c.unread_count, c.unread_action, c.unread_info, c.unread_security, c.unseen_count)::text
           AS recounted
FROM recipients r
CROSS JOIN LATERAL ({_RECOUNT.format(user="r.user_id", vis=visible("n", "r.muted_types"))}) c
WHERE (r.unread_count, r.unread_action, r.unread_info, r.unread_security, r.unseen_count)
      IS DISTINCT FROM
      (c.unread_count, c.unread_action, c.unread_info, c.unread_security, c.unseen_count)
"""

# Retention, in the lock order: a batch of the oldest rows is picked without locking, their
# users' recipient rows are locked (user_id order) SKIP LOCKED, then those users' rows of the
# batch are deleted (SKIP LOCKED too) and each counter drops by the visible rows it counted
# (read under the lock: stable). A purge never waits for a user, nor a user for a purge; what it
# skipped goes with a later batch. Rows of a user without a recipient row (none should exist)
# are deleted too.
PURGE_CANDIDATES: Final = """
SELECT id, user_id FROM notifications WHERE created_at < $1 ORDER BY created_at LIMIT $2
"""

LOCK_RECIPIENTS: Final = """
SELECT user_id FROM recipients WHERE user_id = ANY($1::uuid[]) ORDER BY user_id
FOR NO KEY UPDATE SKIP LOCKED
"""

PURGE_BATCH: Final = f"""
WITH gone AS (
    DELETE FROM notifications n
    WHERE n.id IN (
        SELECT c.id FROM notifications c
        WHERE c.id = ANY($1::uuid[]) AND c.created_at < $2
          AND (c.user_id = ANY($3::uuid[])
               OR NOT EXISTS (SELECT 1 FROM recipients o WHERE o.user_id = c.user_id))
        FOR UPDATE SKIP LOCKED
    )
    RETURNING n.user_id, n.type, n.category, n.read_at, n.seen_at, n.archived_at
), counted AS (
    SELECT g.user_id,
           sum(x.unread)::int AS unread, sum(x.action)::int AS action, sum(x.info)::int AS info,
           sum(x.security)::int AS security, sum(x.unseen)::int AS unseen
    FROM gone g
    JOIN recipients r ON r.user_id = g.user_id
    CROSS JOIN LATERAL (
        SELECT {_CONTRIBUTION.format(vis=visible("g", "r.muted_types"), n="g", p="")}
    ) x
    GROUP BY g.user_id
), fixed AS (
    UPDATE recipients r
    SET unread_count = r.unread_count - c.unread,
        unread_action = r.unread_action - c.action,
        unread_info = r.unread_info - c.info,
        unread_security = r.unread_security - c.security,
        unseen_count = r.unseen_count - c.unseen,
        version = r.version + 1,
        updated_at = now()
    FROM counted c
    WHERE r.user_id = c.user_id
)
SELECT (SELECT count(*) FROM gone)::int AS deleted,
       (SELECT coalesce(sum(unread), 0) FROM counted)::int AS unread
"""
