"""Fixtures of the browser tests: one `clochette dev` per module and Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.stack import Stack, chromium_path, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system started the way a user starts it, polling every second."""
    with running_stack(tmp_path_factory.mktemp("browser") / "home", poll_interval=1) as running:
        yield running


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """CHROMIUM when set (`make pytest` sets it, so a missing browser fails there), else
    /usr/bin/chromium; a plain `pytest` on a machine without it skips the browser tests."""
    path = chromium_path()
    if path is None:
        if "CHROMIUM" in os.environ:
            pytest.fail(f"CHROMIUM={os.environ['CHROMIUM']} does not exist")
        pytest.skip("Chromium not found: install Debian's chromium or set CHROMIUM")
    return path


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a failing browser test leaves its screenshot."""
    return tmp_path
