"""Fixtures for the gateway tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.crm.receiver import CrmStub
from gateway.store import Store
from tests.gateway.harness import SECRET, TOKEN, Harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path)
    yield h
    await h.stop()
    h.close()


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[CrmStub]:
    """The reference CRM (``gateway crm-stub``) on 127.0.0.1, with the tests' token and secret."""
    with CrmStub(tmp_path / "crm.db", token=TOKEN, secret=SECRET) as s:
        yield s


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real SQLite store in ``tmp_path``."""
    s = await Store.open(tmp_path / "gw.db", site="12")
    yield s
    await s.close()
