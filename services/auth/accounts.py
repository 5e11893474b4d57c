"""Use cases about accounts: creating users, the caller's own profile (`/v1/me`), the display
language, deactivation."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from services.auth import audit, events, repository, two_factor_repository
from shared.clock import Clock
from services.auth.domain import (
    LANGUAGES,
    ClientInfo,
    Language,
    Organization,
    Principal,
    Role,
    User,
    as_language,
    is_valid_email,
    normalize_email,
)
from services.auth.errors import (
    CannotDeactivateSelf,
    EmailChangeNotAllowed,
    EmailTaken,
    InvalidAccessToken,
    InvalidFields,
    NotAnAdministrator,
    PasswordRejected,
    UserNotFound,
)
from services.auth.hashing import PasswordHashing
from services.auth.i18n import strength_label
from services.auth.password_policy import PasswordContext, PasswordPolicy, as_field_errors
from services.auth.repository import Connection
from shared.problems import FieldError

UPDATABLE_ME_FIELDS = ("language",)


@dataclass(frozen=True)
class Me:
    """What `/v1/me` shows."""

    user: User
    two_factor_enabled: bool = False
    phone_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        score = self.user.password_score
        return {
            "id": str(self.user.id),
            "email": self.user.email,
            "organization_id": str(self.user.organization_id),
            "role": self.user.role,
            "language": self.user.language,
            "two_factor": {"enabled": self.two_factor_enabled, "phone_number": self.phone_number},
            "password_quality": {
                "score": score,
                "label": strength_label(score, self.user.language) if score is not None else None,
            },
        }


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    role: Role
    language: Language


async def with_two_factor(conn: Connection, user: User) -> Me:
    """`/v1/me` for a user: 2FA counts once activated; the number once confirmed."""
    state = await two_factor_repository.get_two_factor(conn, user.id)
    if state is None:
        return Me(user)
    return Me(user, two_factor_enabled=state.enabled, phone_number=state.phone_number)


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


class Accounts:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        clock: Clock,
        hashing: PasswordHashing,
        policy: PasswordPolicy,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._hashing = hashing
        self._policy = policy

    async def me(self, principal: Principal) -> Me:
        async with self._pool.acquire() as conn:
            return await with_two_factor(
                conn, await require_live_user(conn, principal, self._clock)
            )

    async def update_me(
        self, principal: Principal, changes: dict[str, Any], client: ClientInfo
    ) -> Me:
        """Apply a PATCH of `/v1/me`. The e-mail address is never changeable by its owner;
        unknown fields and bad values are all reported and nothing changes."""
        async with self._pool.acquire() as conn, conn.transaction():
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

    async def create_user(
        self,
        organization: Organization,
        new: NewUser,
        *,
        created_by: User | None = None,
        client: ClientInfo | None = None,
        message_language: Language = "en",
    ) -> User:
        """A new active user in `organization`; the password must pass the policy."""
        email = normalize_email(new.email)
        if not is_valid_email(email):
            raise InvalidFields([FieldError("email", "Not a valid e-mail address.")])
        context = PasswordContext(email, organization.name)
        broken = self._policy.broken_rules(new.password, context, language=message_language)
        if broken:
            raise PasswordRejected(as_field_errors(broken), [b.rule for b in broken])
        async with self._pool.acquire() as conn:
            if await repository.email_exists(conn, email):
                raise EmailTaken(email)
        password_hash = await self._hashing.hash(new.password)
        score = await asyncio.to_thread(self._policy.score, new.password, context)
        now = self._clock.now()
        user_id = uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await repository.insert_user(
                conn,
                user_id=user_id,
                organization_id=organization.id,
                email=email,
                role=new.role,
                language=new.language,
                password_hash=password_hash,
                password_score=score,
                now=now,
            )
            if not inserted:
                raise EmailTaken(email)
            user = await repository.get_user(conn, user_id)
            if user is None:  # pragma: no cover - inserted in this transaction
                raise RuntimeError("user vanished")
            await events.publish_user_event(conn, user, events.user_created(user), now)
            await audit.record(
                conn,
                "user_created",
                now,
                user=user,
                client=client,
                role=user.role,
                created_by=str(created_by.id) if created_by else "cli",
            )
        return user

    async def create_user_in_named_organization(
        self, organization_name: str, new: NewUser
    ) -> tuple[User, bool]:
        """For the CLI: the organisation is found by name or created. Returns the user and
        whether the organisation was created."""
        name = organization_name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidFields([FieldError("organization", "Use 1 to 200 characters.")])
        async with self._pool.acquire() as conn:
            organization, created = await repository.get_or_create_organization(
                conn, uuid.uuid4(), name, self._clock.now()
            )
        return await self.create_user(organization, new), created

    async def create_user_as_admin(
        self, principal: Principal, organization_id: UUID, new: NewUser, client: ClientInfo
    ) -> User:
        admin = await self._require_admin(principal, organization_id)
        async with self._pool.acquire() as conn:
            organization = await repository.get_organization(conn, admin.organization_id)
        if organization is None:  # pragma: no cover - users reference their organisation
            raise NotAnAdministrator()
        return await self.create_user(
            organization, new, created_by=admin, client=client, message_language=admin.language
        )

    async def users_of_organization(
        self, principal: Principal, organization_id: UUID
    ) -> list[User]:
        await self._require_admin(principal, organization_id)
        async with self._pool.acquire() as conn:
            return await repository.users_of_organization(conn, organization_id)

    async def deactivate(
        self,
        user_id: UUID,
        *,
        by: tuple[Principal, UUID] | None = None,
        client: ClientInfo | None = None,
    ) -> User:
        """Deactivate a user and end all their sessions. `by` is the administrator and the
        organisation they act in (None for the CLI); only users of that organisation qualify."""
        admin = await self._require_admin(*by) if by else None
        if admin is not None and admin.id == user_id:
            raise CannotDeactivateSelf()
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            user = await repository.get_user(conn, user_id, for_update=True)
            if user is None or (
                admin is not None and user.organization_id != admin.organization_id
            ):
                raise UserNotFound()
            if not user.active:
                return user
            await repository.deactivate_user(conn, user.id, now)
            ended = await repository.revoke_sessions_of_user(conn, user.id, "deactivated", now)
            await events.publish_user_event(conn, user, events.deactivated(), now)
            await audit.record(
                conn,
                "user_deactivated",
                now,
                user=user,
                client=client,
                sessions_revoked=ended,
                deactivated_by=str(admin.id) if admin else "cli",
            )
            deactivated = await repository.get_user(conn, user.id)
        if deactivated is None:  # pragma: no cover - rows are never deleted
            raise UserNotFound()
        return deactivated

    async def find_by_email(self, email: str) -> User | None:
        async with self._pool.acquire() as conn:
            return await repository.find_user_by_email(conn, normalize_email(email))

    async def _require_admin(self, principal: Principal, organization_id: UUID) -> User:
        """The caller, checked against the database (a role in a token may be minutes old)."""
        async with self._pool.acquire() as conn:
            caller = await require_live_user(conn, principal, self._clock)
        if caller.role != "admin" or caller.organization_id != organization_id:
            raise NotAnAdministrator()
        return caller


def _same_email(value: object, current: str) -> bool:
    return isinstance(value, str) and normalize_email(value) == current
