"""Counting what a request asks of PostgreSQL: pooled connections acquired and transactions
opened (every unit of work and every hand-written `conn.transaction()` alike)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest


@dataclass
class DatabaseUse:
    acquisitions: int = 0
    transactions: int = 0


@contextmanager
def counted_database_use(monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabaseUse]:
    """Counts, for the duration of the block, every `Pool.acquire` and every
    `Connection.transaction` of the process."""
    use = DatabaseUse()
    acquire = asyncpg.pool.Pool.acquire
    transaction = asyncpg.connection.Connection.transaction

    def counting_acquire(self: Any, *args: Any, **kwargs: Any) -> Any:
        use.acquisitions += 1
        return acquire(self, *args, **kwargs)

    def counting_transaction(self: Any, *args: Any, **kwargs: Any) -> Any:
        use.transactions += 1
        return transaction(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncpg.pool.Pool, "acquire", counting_acquire)
        patch.setattr(asyncpg.connection.Connection, "transaction", counting_transaction)
        yield use
