"""The SQL of the notifier's ingest writes (see repository.py for how a batch uses it). There
is no foreign key from notifications to recipients (migration 0003): whoever deletes recipients
deletes their notifications in the same transaction."""

from typing import Final

# A provisional recipient for each addressed user the projection does not know yet, so that an
# event is never lost because its `user.created` has not been applied (topics are not ordered
# with respect to each other). The first user event confirms the row.
ADD_PROVISIONAL_RECIPIENTS = """
INSERT INTO recipients (user_id, organization_id, provisional)
SELECT DISTINCT ON (u.user_id) u.user_id, u.organization_id, true
FROM unnest($1::uuid[], $2::uuid[]) AS u (user_id, organization_id)
WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.user_id = u.user_id)
ORDER BY u.user_id
ON CONFLICT (user_id) DO NOTHING
"""

# The auth service put a provisional user in another organisation than the events claimed: those
# notifications must never reach the user. (No foreign key cascades: see migration 0003. The
# DELETE locks the recipient, so no writer adds to it meanwhile.)
DROP_MISPLACED_PROVISIONAL = """
DELETE FROM recipients r
USING unnest($1::uuid[], $2::uuid[]) AS u (user_id, organization_id)
WHERE r.user_id = u.user_id AND r.provisional AND r.organization_id <> u.organization_id
RETURNING r.user_id
"""

# Users never change organisation (an administrator creates a new user instead): a user event
# that puts a confirmed recipient in another organisation is refused, and its recipient stays as
# it is. Locked in user_id order, as every writer locks recipients.
CONFIRMED_ELSEWHERE = """
SELECT r.user_id, r.organization_id
FROM recipients r
JOIN unnest($1::uuid[], $2::uuid[]) AS u (user_id, organization_id) ON r.user_id = u.user_id
WHERE NOT r.provisional AND r.organization_id <> u.organization_id
ORDER BY r.user_id
FOR UPDATE OF r
"""

# With the recipients just deleted, in the same transaction (only when there are any, so the
# usual case does not even lock the notifications table).
DELETE_NOTIFICATIONS_OF = """
DELETE FROM notifications WHERE user_id = ANY($1::uuid[])
"""

# Apply the folded user events: create missing recipients, update the others field by field
# (NULL leaves a field as it is). The UPDATE does not see the rows the CTE inserted (one
# snapshot per statement), so each user is written once.
UPSERT_RECIPIENTS = """
WITH changes AS (
    SELECT *
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::boolean[], $5::timestamptz[])
        AS c (user_id, organization_id, language, active, member_since)
), created AS (
    INSERT INTO recipients (user_id, organization_id, language, active, member_since)
    SELECT c.user_id, c.organization_id, coalesce(c.language, 'en'), coalesce(c.active, true),
           c.member_since
    FROM changes c
    ON CONFLICT (user_id) DO NOTHING
)
UPDATE recipients r
SET organization_id = c.organization_id,
    language = coalesce(c.language, r.language),
    active = coalesce(c.active, r.active),
    member_since = coalesce(c.member_since, r.member_since),
    provisional = false,
    version = r.version + (coalesce(c.language, r.language) <> r.language
                           OR coalesce(c.active, r.active) <> r.active)::int,
    updated_at = now()
FROM changes c
WHERE r.user_id = c.user_id
"""

# Every notification of the batch and the counters of its recipients in ONE statement (so one
# round trip and one transaction: the badge moves with the rows, exactly by the rows inserted).
# `ON CONFLICT (event_id, user_id) DO NOTHING` makes redelivery harmless (measured against
# `WHERE NOT EXISTS` + retry on unique_violation and against COPY of pre-filtered rows: no faster
# here, the table's indexes dominate — see docs/notifier-ingest.md):
# - an event with `user_id`: that user, when active and in the event's organisation;
# - an event without: every active, confirmed member of the organisation who was a member when
#   it occurred (also remembered in `broadcasts` for members whose creation is applied later);
# - users created in this batch: the remembered broadcasts that occurred since they joined.
# Returns the rows inserted per user, the events that only hit existing rows (redelivered
# duplicates), the events that reached nobody, and those addressed to a user the projection
# does not know yet (the caller creates them provisionally and runs the statement again).
INSERT_NOTIFICATIONS = """
WITH incoming AS (
    SELECT *
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                $8::text[])
        AS i (event_id, organization_id, user_id, type, params, occurred_at, category)
), remembered AS (
    INSERT INTO broadcasts (event_id, organization_id, type, params, occurred_at, category)
    SELECT i.event_id, i.organization_id, i.type, i.params::jsonb, i.occurred_at, i.category
    FROM incoming i
    WHERE i.user_id IS NULL
    ORDER BY i.event_id
    ON CONFLICT (event_id) DO NOTHING
), targets AS (
    SELECT i.event_id, r.user_id, i.type, i.params, i.category, true AS from_batch
    FROM incoming i
    JOIN recipients r ON r.user_id = i.user_id
    WHERE r.organization_id = i.organization_id AND r.active
    UNION ALL
    SELECT i.event_id, r.user_id, i.type, i.params, i.category, true
    FROM incoming i
    JOIN recipients r ON r.organization_id = i.organization_id
    WHERE i.user_id IS NULL AND r.active AND NOT r.provisional
      AND (r.member_since IS NULL OR r.member_since <= i.occurred_at)
    UNION ALL
    SELECT b.event_id, r.user_id, b.type, b.params::text, b.category, false
    FROM recipients r
    JOIN broadcasts b ON b.organization_id = r.organization_id AND b.occurred_at >= r.member_since
    WHERE r.user_id = ANY($7::uuid[]) AND r.active AND NOT r.provisional
), inserted AS (
    INSERT INTO notifications (id, user_id, event_id, type, params, category, created_at)
    SELECT new_notification_id(), t.user_id, t.event_id, t.type, t.params::jsonb, t.category,
           now()
    FROM targets t
    -- one global order: two batches with events in common wait for each other at the first
    -- common key instead of deadlocking on two of them
    ORDER BY t.event_id, t.user_id
    ON CONFLICT (event_id, user_id) DO NOTHING
    RETURNING user_id, event_id, type, category
), per_type AS (
    SELECT x.user_id, x.type, x.category, count(*)::int AS n
    FROM inserted x
    GROUP BY x.user_id, x.type, x.category
), per_user AS (
    SELECT p.user_id, sum(p.n)::int AS n, array_agg(p.type) AS types,
           array_agg(p.category) AS categories, array_agg(p.n) AS counts
    FROM per_type p
    GROUP BY p.user_id
), locked AS (
    -- the recipients' row locks, taken in user_id order before any is updated: two notifier
    -- instances touching the same users queue instead of deadlocking
    SELECT r.user_id
    FROM recipients r
    WHERE r.user_id IN (SELECT user_id FROM per_user)
    ORDER BY r.user_id
    FOR NO KEY UPDATE
), bumped AS (
    -- Each counter rises by the new rows it counts: the visible ones (a muted type's info
    -- items count nothing). The SET reads muted_types of the row version this UPDATE writes
    -- (READ COMMITTED re-evaluates it on the newest version), so a mute committed meanwhile,
    -- which recounted the rows it could see, is applied to these rows too.
    UPDATE recipients r
    SET (unread_count, unseen_count, unread_action, unread_info, unread_security) = (
            SELECT r.unread_count + v.total, r.unseen_count + v.total,
                   r.unread_action + v.action, r.unread_info + v.info,
                   r.unread_security + v.security
            FROM (
                SELECT coalesce(sum(z.n), 0)::int AS total,
                       coalesce(sum(z.n) FILTER (WHERE z.category = 'action'), 0)::int AS action,
                       coalesce(sum(z.n) FILTER (WHERE z.category = 'info'), 0)::int AS info,
                       coalesce(sum(z.n) FILTER (WHERE z.category = 'security'), 0)::int
                           AS security
                FROM unnest(p.types, p.categories, p.counts) AS z (type, category, n)
                WHERE z.category <> 'info' OR z.type <> ALL (r.muted_types)
            ) v
        ),
        version = r.version + 1,
        latest_created_at = greatest(r.latest_created_at, now()),
        updated_at = now()
    FROM per_user p
    WHERE r.user_id = p.user_id AND r.user_id IN (SELECT user_id FROM locked)
)
SELECT 'inserted' AS kind, p.user_id AS id, p.n FROM per_user p
UNION ALL
SELECT DISTINCT 'duplicate', t.event_id, 0
FROM targets t
WHERE t.from_batch AND NOT EXISTS (SELECT 1 FROM inserted x WHERE x.event_id = t.event_id)
UNION ALL
SELECT 'unrouted', i.event_id, 0
FROM incoming i
WHERE NOT EXISTS (SELECT 1 FROM targets t WHERE t.event_id = i.event_id)
UNION ALL
SELECT 'unknown_user', i.event_id, 0
FROM incoming i
WHERE i.user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.user_id = i.user_id)
"""

# The bulk path's first step: lock (in user_id order, as the statement above does, so writers
# queue instead of deadlocking) and read every recipient the batch can reach, with the muted
# types of the locked row version: the counters rise by the visible new rows only.
LOCK_RECIPIENTS = """
SELECT user_id, organization_id, active, provisional, member_since, muted_types
FROM recipients
WHERE user_id = ANY($1::uuid[])
   OR (organization_id = ANY($2::uuid[]) AND active AND NOT provisional)
ORDER BY user_id
FOR NO KEY UPDATE
"""

# The bulk path after a unique violation (a redelivery): which of the batch's (event, user) pairs
# are stored already. Served by the (event_id, user_id) unique index.
EXISTING_NOTIFICATIONS = """
SELECT event_id, user_id FROM notifications WHERE event_id = ANY($1::uuid[])
"""

REMEMBER_BROADCASTS = """
INSERT INTO broadcasts (event_id, organization_id, type, params, occurred_at, category)
SELECT b.event_id, b.organization_id, b.type, b.params::jsonb, b.occurred_at, b.category
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
    AS b (event_id, organization_id, type, params, occurred_at, category)
ORDER BY b.event_id
ON CONFLICT (event_id) DO NOTHING
"""

# The bulk path's counters: per user, the visible new rows (computed from the muted types of the
# rows LOCK_RECIPIENTS locked, so no mute can commit in between) and per category.
RAISE_UNREAD_COUNTS = """
UPDATE recipients r
SET unread_count = r.unread_count + u.n,
    unseen_count = r.unseen_count + u.n,
    unread_action = r.unread_action + u.action,
    unread_info = r.unread_info + u.info,
    unread_security = r.unread_security + u.security,
    version = r.version + 1,
    latest_created_at = greatest(r.latest_created_at, now()),
    updated_at = now()
FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[])
    AS u (user_id, n, action, info, security)
WHERE r.user_id = u.user_id
"""

COPY_COLUMNS: Final = ("id", "user_id", "event_id", "type", "params", "category")
