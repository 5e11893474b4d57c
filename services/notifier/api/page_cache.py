"""Rendered first pages of the list, kept per (user, filter, limit, language) with the version of
the recipient row they were read at, and served again while that version has not moved.

Why it is correct: `recipients.version` moves in the same transaction as every change to any
row a page can show (new and purged rows, read/unread/seen/archived of any item, mutes, see the
writers in api/sql.py and ingest/sql.py), so a page read at version V shows exactly the rows of
every moment the version is V. A request reads the badge first (the coalesced primary-key read,
which reflects every commit before the request) and gets the cached page only when the badge's
version and newest arrival equal the page's. The newest arrival is compared too because a
recipient row deleted and created again (a purged provisional user) starts its version from 0
again, like the badge's ETag. The language is part of the key, so a language change (or a
provisional user confirmed) renders again even though it does not touch the rows.

Bounded (least recently used goes first): at most `size` pages and at most `size` x 20 items
(rows or groups) in all, so pages of up to 100 items cannot hold five times the memory of the
default ones (a rendered 20-item page is about 25 KB); size 0 turns it off. One per process and
per kind of page: several processes each keep their own, each checked against the same database
version.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar
from uuid import UUID

from prometheus_client import Counter

P = TypeVar("P")

PageKey = tuple[UUID, str, int, str]
"""(user, the filter's scope, limit, language)."""

PAGE_CACHE: Counter = Counter(
    "notifier_page_cache_requests",
    "First pages of the list asked of the rendered-page cache, by result (hit, miss).",
    ["result"],
)
_HITS = PAGE_CACHE.labels("hit")
_MISSES = PAGE_CACHE.labels("miss")


ITEMS_PER_PAGE: Final = 20
"""The item budget per page of `size` (the default page size)."""


@dataclass(frozen=True)
class _Entry(Generic[P]):
    version: int
    latest_created_at: datetime | None
    page: P
    items: int


class PageCache(Generic[P]):
    """At most `size` pages, each valid for one (version, newest arrival) of its user."""

    def __init__(self, size: int) -> None:
        self._size = max(0, size)
        self._entries: OrderedDict[PageKey, _Entry[P]] = OrderedDict()
        self._items = 0  # the sum of the entries' items

    @property
    def enabled(self) -> bool:
        return self._size > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: PageKey, version: int, latest_created_at: datetime | None) -> P | None:
        """The page rendered at exactly this version and newest arrival, or None."""
        entry = self._entries.get(key)
        if (
            entry is None
            or entry.version != version
            or entry.latest_created_at != latest_created_at
        ):
            _MISSES.inc()
            return None
        self._entries.move_to_end(key)
        _HITS.inc()
        return entry.page

    @property
    def items(self) -> int:
        return self._items

    def put(
        self,
        key: PageKey,
        version: int,
        latest_created_at: datetime | None,
        page: P,
        *,
        items: int,
    ) -> None:
        """Keep `page` of `items` items, read at `version` (the recipient row of the page's own
        snapshot)."""
        if not self._size:
            return
        replaced = self._entries.pop(key, None)
        if replaced is not None:
            self._items -= replaced.items
        self._entries[key] = _Entry(version, latest_created_at, page, items)
        self._items += items
        while len(self._entries) > self._size or self._items > self._size * ITEMS_PER_PAGE:
            _, gone = self._entries.popitem(last=False)
            self._items -= gone.items
