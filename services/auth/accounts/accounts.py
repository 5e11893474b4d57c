"""Use cases about accounts: creating users (by an administrator or the CLI), listing and
deactivating them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from uuid import UUID

from services.auth.accounts import repository
from services.auth.accounts.errors import (
    CannotDeactivateSelf,
    EmailTaken,
    InvalidFields,
    NotAnAdministrator,
    PasswordRejected,
    UserNotFound,
)
from services.auth.accounts.hashing import PasswordHashing
from services.auth.accounts.password_policy import (
    PasswordContext,
    PasswordPolicy,
    as_field_errors,
)
from services.auth.accounts.profile import require_live_user
from services.auth.domain import (
    ClientInfo,
    Language,
    Organization,
    Role,
    User,
    is_valid_email,
    normalize_email,
)
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.sessions import repository as sessions_repository
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.problems import FieldError
from shared.tokens import Principal


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    role: Role
    language: Language


class Accounts:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        hashing: PasswordHashing,
        policy: PasswordPolicy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hashing = hashing
        self._policy = policy

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
        # Checked before hashing, so a taken address costs no argon2 work.
        if await self._uow.read(lambda conn: repository.email_exists(conn, email)):
            raise EmailTaken(email)
        password_hash = await self._hashing.hash(new.password)
        score = await asyncio.to_thread(self._policy.score, new.password, context)
        now = self._clock.now()
        user_id = uuid.uuid4()

        async def insert(conn: Connection) -> User:
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

        return await self._uow.run(insert)

    async def create_user_in_named_organization(
        self, organization_name: str, new: NewUser
    ) -> tuple[User, bool]:
        """For the CLI: the organisation is found by name or created. Returns the user and
        whether the organisation was created."""
        name = organization_name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidFields([FieldError("organization", "Use 1 to 200 characters.")])
        organization, created = await self._uow.read(
            lambda conn: repository.get_or_create_organization(
                conn, uuid.uuid4(), name, self._clock.now()
            )
        )
        return await self.create_user(organization, new), created

    async def create_user_as_admin(
        self, principal: Principal, organization_id: UUID, new: NewUser, client: ClientInfo
    ) -> User:
        admin = await self._require_admin(principal, organization_id)
        organization = await self._uow.read(
            lambda conn: repository.get_organization(conn, admin.organization_id)
        )
        if organization is None:  # pragma: no cover - users reference their organisation
            raise NotAnAdministrator()
        return await self.create_user(
            organization, new, created_by=admin, client=client, message_language=admin.language
        )

    async def users_of_organization(
        self, principal: Principal, organization_id: UUID
    ) -> list[User]:
        await self._require_admin(principal, organization_id)
        return await self._uow.read(
            lambda conn: repository.users_of_organization(conn, organization_id)
        )

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

        async def deactivate(conn: Connection) -> User | None:
            user = await repository.get_user(conn, user_id, for_update=True)
            if user is None or (
                admin is not None and user.organization_id != admin.organization_id
            ):
                raise UserNotFound()
            if not user.active:
                return user
            await repository.deactivate_user(conn, user.id, now)
            ended = await sessions_repository.revoke_sessions_of_user(
                conn, user.id, "deactivated", now
            )
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
            return await repository.get_user(conn, user.id)

        deactivated = await self._uow.run(deactivate)
        if deactivated is None:  # pragma: no cover - rows are never deleted
            raise UserNotFound()
        return deactivated

    async def find_by_email(self, email: str) -> User | None:
        return await self._uow.read(
            lambda conn: repository.find_user_by_email(conn, normalize_email(email))
        )

    async def _require_admin(self, principal: Principal, organization_id: UUID) -> User:
        """The caller, checked against the database (a role in a token may be minutes old)."""
        caller = await self._uow.read(lambda conn: require_live_user(conn, principal, self._clock))
        if caller.role != "admin" or caller.organization_id != organization_id:
            raise NotAnAdministrator()
        return caller
