"""Preferences of the bell: which types' info items a user has muted (contract 5.1).

A mute hides the info items of a type — those already stored and those still to come — from
every list and count, and is reversible. The change and the recount of every counter of the
user happen in one transaction with the recipient row locked (sql.py's lock order), so the
counters never see half a mute; the version moves, so the badge's ETag does too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import asyncpg
from litestar import Controller, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from services.notifier.api.routes import AUTH_PROBLEMS, BearerTokenAuthentication, CallerRequest
from services.notifier.api.sql import (
    ADD_PROVISIONAL_RECIPIENT,
    LOCK_OWNER,
    MUTED_TYPES,
    SET_MUTED_TYPES,
)
from services.notifier.categories import ALL_TYPES, is_mutable
from shared.db import Connection, UnitOfWork
from shared.problem_docs import problem_response
from shared.problems import FieldError, InvalidRequest
from shared.tokens import Principal


@dataclass(frozen=True)
class TypePreference:
    muted: bool
    mutable: bool


@dataclass(frozen=True)
class Preferences:
    """Every type of the bell, muted or not, and whether it may be muted at all."""

    types: dict[str, TypePreference]

    @classmethod
    def of(cls, muted: set[str]) -> Preferences:
        return cls(
            types={t: TypePreference(muted=t in muted, mutable=is_mutable(t)) for t in ALL_TYPES}
        )


@dataclass(frozen=True)
class PreferencesChange:
    """The types to mute; every other type is unmuted."""

    muted: list[str]


class NotMutable(InvalidRequest):
    """Unknown types, or types that are never muted (action and security ones)."""

    def __init__(self, offending: list[str]) -> None:
        super().__init__(
            "Only types with info items can be muted: " + ", ".join(offending) + ".",
            errors=[
                FieldError(
                    f"muted[{t}]", "not mutable" if t in ALL_TYPES else "not a notification type"
                )
                for t in offending
            ],
        )


class PreferenceStore:
    """Reads and changes a user's muted types (SQL in sql.py)."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._unit_of_work = UnitOfWork(pool)

    async def muted(self, user_id: Any) -> set[str]:
        row = await self._unit_of_work.read(lambda conn: conn.fetchrow(MUTED_TYPES, user_id))
        return set(row["muted_types"]) if row is not None else set()

    async def set_muted(self, caller: Principal, muted: list[str]) -> set[str]:
        """Store the muted types and recount every counter with them, in one transaction with
        the recipient row locked. A user the notifier does not know yet gets a provisional row,
        from the token's organization and language, as the ingest creates unknown users."""

        async def run(conn: Connection) -> set[str]:
            if await conn.fetchrow(LOCK_OWNER, caller.user_id) is None:
                await conn.execute(
                    ADD_PROVISIONAL_RECIPIENT,
                    caller.user_id,
                    caller.organization_id,
                    str(caller.language),
                )
                await conn.fetchrow(LOCK_OWNER, caller.user_id)
            stored = await conn.fetchval(SET_MUTED_TYPES, caller.user_id, muted)
            return set(stored)

        return await self._unit_of_work.run(run)


def provide_preferences(state: State) -> PreferenceStore:
    store: PreferenceStore = state.preferences
    return store


_GET_COST: Final = " Cost: one primary-key read."


class PreferencesController(Controller):
    """The caller's own preferences."""

    path = "/v1/notification-preferences"
    tags = ["notifications"]  # noqa: RUF012 - Litestar reads these class attributes
    security = [{"BearerToken": []}]  # noqa: RUF012
    middleware = [BearerTokenAuthentication]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        "preferences": Provide(provide_preferences, sync_to_thread=False)
    }

    @get(
        "/",
        summary="My notification preferences",
        description="Every type of the bell, whether I muted it and whether it may be muted "
        "(types with info items; never action or security ones)." + _GET_COST,
        responses=AUTH_PROBLEMS,
    )
    async def read(
        self, request: CallerRequest, preferences: NamedDependency[PreferenceStore]
    ) -> Preferences:
        return Preferences.of(await preferences.muted(request.user.user_id))

    @put(
        "/",
        status_code=200,
        summary="Choose the types I mute",
        description="`muted` lists every type to mute; the others are unmuted. A muted type's "
        "info items, stored and still to come, leave every list and count at once (and come "
        "back when unmuted). An unknown or non-mutable type is refused (422 naming each), and "
        "nothing changes. Cost: the recipient row locked and every counter recounted from the "
        "user's unread items, in one transaction.",
        responses={
            **AUTH_PROBLEMS,
            400: problem_response(400),
            422: problem_response(422, "Unknown or non-mutable types"),
        },
    )
    async def change(
        self,
        request: CallerRequest,
        preferences: NamedDependency[PreferenceStore],
        data: PreferencesChange,
    ) -> Preferences:
        offending = sorted({t for t in data.muted if not is_mutable(t)})
        if offending:
            raise NotMutable(offending)
        muted = sorted(set(data.muted))
        return Preferences.of(await preferences.set_muted(request.user, muted))
