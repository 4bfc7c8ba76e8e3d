"""Helpers for the console's browser tests: sign in through the form, screenshots, and what
a person would notice (horizontal overflow, the page's direction and digits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gateway.web.api import PASSWORD, Api

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}
STEP = 10_000  # ms: the most a page step may take (a bound on every wait in the browser)


class Console:
    def __init__(self, shots: Path) -> None:
        self.shots = shots

    async def signed_in(
        self, browser: Any, api: Api, name: str, viewport: dict[str, int] | None = None, *, script: bool = True
    ) -> Any:
        """A new browser page, signed in as ``name`` through the Sign in form, on the inbox
        (``script=False``: a browser with JavaScript off)."""
        context = await browser.new_context(
            viewport=viewport or DESKTOP, base_url=api.url, locale="en-US", java_script_enabled=script
        )
        context.set_default_timeout(STEP)
        page = await context.new_page()
        await page.goto("/inbox")  # sent to Sign in, then back
        await page.get_by_label("Name").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/inbox")
        return page

    async def shot(self, page: Any, name: str) -> Path:
        """A full-page screenshot as ``name``.png."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


async def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    width: int = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return width


def words(text: str | None) -> str:
    """Text as a person reads it: blanks and line breaks as single spaces."""
    return " ".join((text or "").split())
