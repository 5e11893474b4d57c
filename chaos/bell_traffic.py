"""The soak's bell, second version (contract 5.1): what an open tab does besides polling.

Each poller now and then opens the bell (seen), archives and unarchives, marks an item unread,
reads all of one category or one group, and changes its mutes; a third of the pollers long-poll
(`Prefer: wait=N`). Every call goes through the HttpLog, so a 5xx outside a fault window or an
unexpected status fails the soak like any other request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from services.notifier.categories import CATEGORIES, MUTABLE_TYPES

if TYPE_CHECKING:  # chaos.traffic imports this module
    from chaos.traffic import HttpLog, Session

OK = frozenset({200})
NO_CONTENT = frozenset({204})
LONG_POLL_SECONDS = 5


def long_poll_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "prefer": f"wait={LONG_POLL_SECONDS}"}


def was_held(answer: httpx.Response | None) -> bool:
    """The server applied the wait: the next long poll may follow at once."""
    return answer is not None and "preference-applied" in answer.headers


@dataclass
class BellActions:
    """One tab's second-version actions against one notifier instance."""

    client: httpx.AsyncClient
    log: HttpLog
    rng: random.Random
    muted: set[str] = field(default_factory=set)

    async def _call(
        self, target: str, route: str, method: str, url: str, expect: frozenset[int], **kw: Any
    ) -> httpx.Response | None:
        return await self.log.call(self.client, target, route, method, url, expect=expect, **kw)

    async def _items(
        self, target: str, url: str, session: Session, **params: Any
    ) -> list[dict[str, Any]]:
        page = await self._call(
            target,
            "list",
            "GET",
            url + "/v1/notifications",
            OK,
            params={"limit": 20, **params},
            headers=session.headers,
        )
        if page is None or page.status_code != 200:
            return []
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    async def one(self, draw: float, target: str, url: str, session: Session) -> None:
        """One action, chosen by `draw` in [0, 1)."""
        headers = session.headers
        if draw < 0.3:
            await self._call(
                target, "seen", "POST", url + "/v1/notifications/seen", NO_CONTENT, headers=headers
            )
        elif draw < 0.5:
            items = await self._items(target, url, session)
            if items:
                item = self.rng.choice(items)["id"]
                await self._call(
                    target,
                    "archive",
                    "POST",
                    f"{url}/v1/notifications/{item}/archive",
                    NO_CONTENT,
                    headers=headers,
                )
        elif draw < 0.6:
            items = await self._items(target, url, session, status="archived")
            if items:
                item = items[0]["id"]
                await self._call(
                    target,
                    "unarchive",
                    "POST",
                    f"{url}/v1/notifications/{item}/unarchive",
                    NO_CONTENT,
                    headers=headers,
                )
        elif draw < 0.7:
            read = [i for i in await self._items(target, url, session) if i["read_at"]]
            if read:
                await self._call(
                    target,
                    "unread",
                    "POST",
                    f"{url}/v1/notifications/{read[0]['id']}/unread",
                    NO_CONTENT,
                    headers=headers,
                )
        elif draw < 0.8:
            await self._call(
                target,
                "read-all-category",
                "POST",
                url + "/v1/notifications/read-all",
                NO_CONTENT,
                json={"category": self.rng.choice(CATEGORIES).value},
                headers=headers,
            )
        elif draw < 0.9:
            groups = await self._call(
                target,
                "groups",
                "GET",
                url + "/v1/notifications/groups",
                OK,
                params={"limit": 10},
                headers=headers,
            )
            if groups is not None and groups.status_code == 200 and groups.json()["items"]:
                key = self.rng.choice(groups.json()["items"])["key"]
                await self._call(
                    target,
                    "read-all-group",
                    "POST",
                    url + "/v1/notifications/read-all",
                    NO_CONTENT,
                    json={"group": key},
                    headers=headers,
                )
        else:
            # Toggle one mutable type: mutes come and go while events for it arrive.
            kind = self.rng.choice(MUTABLE_TYPES)
            self.muted ^= {kind}
            await self._call(
                target,
                "preferences",
                "PUT",
                url + "/v1/notification-preferences",
                OK,
                json={"muted": sorted(self.muted)},
                headers=headers,
            )
