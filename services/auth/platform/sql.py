"""What every repository module of the auth service shares: the connection type its functions
take (the unit of work's) and the reading of a command status."""

from __future__ import annotations

from shared.db import Connection

__all__ = ["Connection", "row_count"]


def row_count(status: str) -> int:
    """The row count of a command status such as `UPDATE 3`."""
    return int(status.rsplit(" ", 1)[1])
