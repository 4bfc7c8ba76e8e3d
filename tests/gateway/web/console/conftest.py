"""The console in a real browser: Debian's Chromium driven by Playwright (async: ``gateway
serve`` runs in the test's own event loop). Playwright's own browser download cannot be
reached here, so the system Chromium is launched by its path; without it these tests skip.

A test takes ``chromium`` (a browser, closed after the test) and ``console`` (pages with
sign-in and screenshots)::

    async def test_it(harness, chromium, console):
        await harness.start()
        async with serving(harness.config) as api:
            await api.user("sara", "agent", "en")
            page = await console.signed_in(chromium, api, "sara")
            await page.goto(api.url + "/inbox")
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.web.console.browser import Console

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
NO_CHROMIUM = (
    "Debian's Chromium is not installed (apt-get install chromium): Playwright's own browser download is unreachable"
)


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], timeout=30_000)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def console(tmp_path: Path) -> Console:
    """Sign-in and screenshots; ``CONSOLE_SHOTS=docs/console`` keeps the screenshots there
    (how the committed set is made), else they go to the test's tmp_path."""
    shots = Path(os.environ.get("CONSOLE_SHOTS") or tmp_path / "shots")
    return Console(shots)
