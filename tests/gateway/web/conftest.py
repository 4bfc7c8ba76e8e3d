"""Fixtures for the API tests: a real ``gateway serve`` on 127.0.0.1 over a SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config import Config, SiteConfig
from tests.gateway.web.api import Api, serving


@pytest.fixture
def api_config(tmp_path: Path) -> Config:
    return Config(site=SiteConfig(id="12", language="fa")).with_database(tmp_path / "gateway.db")


@pytest.fixture
async def api(api_config: Config) -> AsyncIterator[Api]:
    async with serving(api_config) as served:
        yield served
