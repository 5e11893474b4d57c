"""The soak's users: organisations and members created through the auth service's own use case
(what `clochette users create` runs), then confirmed by the notifier's projection.

The user set stays static for the whole run, so the recipients of an organisation-wide event
are exactly the organisation's members and delivery can be checked exactly.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field

import asyncpg

from chaos.stack import ARGON2_ENV


@dataclass
class User:
    index: int
    id: uuid.UUID
    organization: int
    email: str
    password: str
    two_factor_secret: str | None = None
    last_totp_step: int = -1
    device_token: str | None = None
    """What a browser keeps after its first login and sends with the next ones."""


@dataclass
class Population:
    organization_ids: list[uuid.UUID]
    users: list[User]
    members: list[list[int]] = field(default_factory=list)

    def index_of(self) -> dict[uuid.UUID, int]:
        return {u.id: u.index for u in self.users}


async def create_users(database_url: str, organizations: int, per_organization: int) -> Population:
    """`organizations` x `per_organization` users (the first of each an admin), created with the
    auth service's `Accounts` so each one gets its `user.created` event in the outbox."""
    from services.auth.accounts.accounts import Accounts, NewUser
    from services.auth.components import password_hashing, password_policy
    from services.auth.platform.config import AuthSettings
    from shared.clock import SystemClock
    from shared.db import UnitOfWork, create_pool

    settings = AuthSettings(
        argon2_time_cost=int(ARGON2_ENV["AUTH_ARGON2_TIME_COST"]),
        argon2_memory_kib=int(ARGON2_ENV["AUTH_ARGON2_MEMORY_KIB"]),
        argon2_parallelism=int(ARGON2_ENV["AUTH_ARGON2_PARALLELISM"]),
        hash_thread_niceness=0,
    )
    hashing = password_hashing(settings)
    pool = await create_pool(database_url, min_size=1, max_size=4, search_path="auth")
    accounts = Accounts(UnitOfWork(pool), SystemClock(), hashing, password_policy(settings))
    tag = secrets.token_hex(3)
    limit = asyncio.Semaphore(4)

    async def one(org: int, member: int) -> tuple[int, int, uuid.UUID, uuid.UUID, str, str]:
        email = f"m{member:02d}.o{org:02d}.{tag}@chaos-soak.example.be"
        password = f"{secrets.token_urlsafe(12)} soak lantern {org}-{member}"
        async with limit:
            user, _ = await accounts.create_user_in_named_organization(
                f"Chaos Soak {tag} {org:02d}",
                NewUser(email, password, "admin" if member == 0 else "member", "nl"),
            )
        return org, member, user.id, user.organization_id, email, password

    try:
        # The first member creates the organisation; the others then find it by name.
        firsts = await asyncio.gather(*(one(o, 0) for o in range(organizations)))
        rest = await asyncio.gather(
            *(one(o, m) for o in range(organizations) for m in range(1, per_organization))
        )
    finally:
        await pool.close()
        hashing.close()
    rows = sorted([*firsts, *rest])
    organization_ids = [r[3] for r in firsts]
    population = Population(organization_ids, [], [[] for _ in range(organizations)])
    for org, _member, user_id, _org_id, email, password in rows:
        index = len(population.users)
        population.users.append(User(index, user_id, org, email, password))
        population.members[org].append(index)
    return population


async def wait_for_projection(database_url: str, population: Population, limit_s: float) -> float:
    """Until the notifier confirmed every user (their `user.created` went through the outbox,
    the broker and the projection): before that an organisation-wide event would reach fewer
    members than the check expects. Returns the seconds it took."""
    started = time.monotonic()
    ids = [u.id for u in population.users]
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            confirmed = await conn.fetchval(
                "SELECT count(*) FROM notifier.recipients WHERE user_id = ANY($1::uuid[]) "
                "AND NOT provisional AND active AND member_since IS NOT NULL",
                ids,
            )
            if confirmed == len(ids):
                return time.monotonic() - started
            if time.monotonic() - started > limit_s:
                raise TimeoutError(
                    f"the notifier confirmed {confirmed} of {len(ids)} users in {limit_s:.0f} s"
                )
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
