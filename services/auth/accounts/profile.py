"""The caller's own profile (`/v1/me`): reading it and changing the display language. The e-mail
address is never changeable by its owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.auth.accounts import repository
from services.auth.accounts.errors import EmailChangeNotAllowed, InvalidFields
from services.auth.accounts.i18n import strength_label
from services.auth.domain import (
    LANGUAGES,
    ClientInfo,
    Language,
    User,
    as_language,
    normalize_email,
)
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.sessions.errors import InvalidAccessToken
from services.auth.two_factor import repository as two_factor_repository
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.problems import FieldError
from shared.tokens import Principal

UPDATABLE_ME_FIELDS = ("language",)


@dataclass(frozen=True)
class Me:
    """What `/v1/me` shows."""

    user: User
    two_factor_enabled: bool = False
    phone_number: str | None = None
    totp: bool = False
    passkeys: int = 0

    def as_dict(self) -> dict[str, Any]:
        score = self.user.password_score
        return {
            "id": str(self.user.id),
            "email": self.user.email,
            "organization_id": str(self.user.organization_id),
            "role": self.user.role,
            "language": self.user.language,
            "two_factor": {
                "enabled": self.two_factor_enabled,
                "phone_number": self.phone_number,
                "passkeys": self.passkeys,
                "methods": ["totp"] * self.totp + ["passkey"] * (self.passkeys > 0),
            },
            "password_quality": {
                "score": score,
                "label": strength_label(score, self.user.language) if score is not None else None,
            },
        }


async def with_two_factor(conn: Connection, user: User) -> Me:
    """`/v1/me` for a user: 2FA counts once activated; the number once confirmed."""
    state = await two_factor_repository.get_two_factor(conn, user.id)
    if state is None:
        return Me(user)
    return Me(
        user,
        two_factor_enabled=state.enabled,
        phone_number=state.phone_number,
        totp=state.totp_enabled,
        passkeys=state.passkeys,
    )


async def require_live_user(
    conn: Connection, principal: Principal, clock: Clock, *, for_update: bool = False
) -> User:
    """The caller, as long as they are active and their session was not revoked; the access
    token alone is not enough for the auth service's own routes."""
    user = await repository.user_in_live_session(
        conn, principal.user_id, principal.session_id, clock.now(), for_update=for_update
    )
    if user is None:
        raise InvalidAccessToken("The session has ended: log in again.")
    return user


class Profile:
    """`GET /v1/me` and `PATCH /v1/me`."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def me(self, principal: Principal) -> Me:
        async def read(conn: Connection) -> Me:
            return await with_two_factor(
                conn, await require_live_user(conn, principal, self._clock)
            )

        return await self._uow.read(read)

    async def update_me(
        self, principal: Principal, changes: dict[str, Any], client: ClientInfo
    ) -> Me:
        """Apply a PATCH of `/v1/me`. Unknown fields and bad values are all reported and
        nothing changes."""

        async def update(conn: Connection) -> Me:
            user = await require_live_user(conn, principal, self._clock, for_update=True)
            if "email" in changes and not _same_email(changes["email"], user.email):
                raise EmailChangeNotAllowed()
            errors = [
                FieldError(name, "This field cannot be changed here.")
                for name in changes
                if name not in (*UPDATABLE_ME_FIELDS, "email")
            ]
            language = changes.get("language", user.language)
            if "language" in changes and language not in LANGUAGES:
                errors.append(FieldError("language", f"Must be one of: {', '.join(LANGUAGES)}."))
            if errors:
                raise InvalidFields(errors)
            new_language = as_language(language)
            if new_language != user.language:
                user = await self._change_language(conn, user, new_language, client)
            return await with_two_factor(conn, user)

        return await self._uow.run(update)

    async def _change_language(
        self, conn: Connection, user: User, language: Language, client: ClientInfo
    ) -> User:
        now = self._clock.now()
        await repository.set_language(conn, user.id, language, now)
        changed = await repository.get_user(conn, user.id)
        if changed is None:  # pragma: no cover - the row is locked by this transaction
            raise InvalidAccessToken()
        await events.publish_user_event(conn, changed, events.language_changed(changed), now)
        await audit.record(
            conn,
            "language_changed",
            now,
            user=changed,
            client=client,
            previous=user.language,
            language=language,
        )
        return changed


def _same_email(value: object, current: str) -> bool:
    return isinstance(value, str) and normalize_email(value) == current
