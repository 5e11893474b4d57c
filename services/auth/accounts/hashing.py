"""argon2id password hashing on a thread pool, off the event loop.

argon2-cffi releases the GIL while it hashes, so a pool with one thread per core uses every core
while the event loop keeps serving other requests. The pool's threads run at a lower CPU priority
(Linux keeps a nice value per thread): when hashing saturates the machine, the event loop still
gets the CPU first, so requests that do not hash stay fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.auth.domain import normalize_password
from services.auth.platform.config import AuthSettings
from shared.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int
    memory_kib: int
    parallelism: int

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> Argon2Parameters:
        return cls(auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism)


def argon2_hasher(parameters: Argon2Parameters) -> PasswordHasher:
    """The argon2id hasher of the service (the benchmark measures the same one)."""
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_kib,
        parallelism=parameters.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


def lower_thread_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux: nice is per thread)."""
    if niceness and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _unusable_hash() -> Verification:
    # No traceback and no value: neither would help, and no hash goes into a log.
    log.error("password_hash_unusable", error="the stored hash is not a valid argon2 hash")
    return Verification(ok=False)


class PasswordHashing:
    """Hash and verify passwords; unknown accounts are verified against a dummy hash so they
    cost the same work as known ones."""

    def __init__(self, parameters: Argon2Parameters, *, threads: int, niceness: int = 0) -> None:
        self.parameters = parameters
        self._hasher = argon2_hasher(parameters)
        self._pool = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="argon2",
            initializer=lower_thread_priority,
            initargs=(niceness,),
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The PHC string of a new password (salt included)."""
        return await self._run(self._hash_sync, password)

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        """Check a password; with no hash (unknown account) do the same work and fail."""
        if password_hash is None:
            await self._run(self._verify_unknown_sync, password)
            return Verification(ok=False)
        return await self._run(self._verify_sync, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    async def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown e-mail costs no more than others."""
        await self._run(self._dummy)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, function: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(function, *args))

    def _hash_sync(self, password: str) -> str:
        return self._hasher.hash(normalize_password(password))

    def _verify_sync(self, password_hash: str, password: str) -> Verification:
        try:
            self._hasher.verify(password_hash, normalize_password(password))
        except VerifyMismatchError:
            return Verification(ok=False)
        except (InvalidHashError, VerificationError):
            return _unusable_hash()
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(password_hash))

    def _verify_unknown_sync(self, password: str) -> Verification:
        self._verify_sync(self._dummy(), password)
        return Verification(ok=False)

    def _dummy(self) -> str:
        # Computed once, lazily, with the current parameters: same cost as a real verify.
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash
