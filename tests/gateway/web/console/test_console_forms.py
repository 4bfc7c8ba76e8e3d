"""The console's forms work without JavaScript, by keyboard, and lose nothing when refused: on
the real daemon and ``gateway serve``, in Chromium with scripts off."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import Console, words
from tests.gateway.web.console.test_desk_console import sent_to

FIRST, SECOND = "+989121110003", "+989121110004"


async def two_tickets(h: Harness) -> None:
    await h.start()
    h.emu("m1").inject_sms(FIRST, "قطع ۱۱۱۱۱")
    await eventually(lambda: len(sent_to(h, FIRST)) == 1, timeout=30)
    h.emu("m1").inject_sms(SECOND, "outage 22222 no power since noon")
    await eventually(lambda: len(sent_to(h, SECOND)) == 1, timeout=30)


@pytest.mark.slow
async def test_without_javascript_an_agent_filters_assigns_and_notes_by_keyboard(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await two_tickets(harness)
    async with serving(harness.config) as api:
        await api.user("sara", "agent", "en")
        page = await console.signed_in(chromium, api, "sara", script=False)
        rows = page.locator("#tickets tr[data-ref]")
        # newest first
        assert [await r.get_attribute("data-ref") for r in await rows.all()] == ["12-000002", "12-000001"]

        await page.keyboard.press("Tab")  # the first stop is the way past the menu
        assert await page.evaluate("document.activeElement.textContent") == "Skip to the content"

        await page.get_by_text("Filters").click()
        await page.get_by_label("Search").fill("no power")
        await page.get_by_label("Search").press("Enter")
        assert [await r.get_attribute("data-ref") for r in await page.locator("#tickets tr[data-ref]").all()] == [
            "12-000002"
        ]
        assert words(await page.locator("#counts").text_content()) == "Open 1 In progress 0 Resolved 0 Closed 0"

        await page.get_by_role("link", name="12-000002").click()
        await page.get_by_label("Assign to (a user's name; empty: nobody)").fill("sara")
        await page.get_by_role("button", name="Assign", exact=True).click()
        await page.get_by_text("Assignment saved.").wait_for()
        assert "sara" in await page.locator("#details").inner_text()
        await page.get_by_role("textbox", name="Note", exact=True).fill("called back, no answer")
        await page.get_by_role("button", name="Add note").click()
        await page.get_by_text("Note added.").wait_for()
        assert "called back, no answer" in await page.locator("#notes").inner_text()

        await page.goto("/inbox?mine=1")
        assert [await r.get_attribute("data-ref") for r in await page.locator("#tickets tr[data-ref]").all()] == [
            "12-000002"
        ]
        assert await page.get_by_label("Assigned to me").is_checked()
        answer = await page.goto("/inbox?since=someday")
        assert answer is not None and answer.status == 422
        assert "since: 'someday' is not a date" in await page.locator(".error").inner_text()


@pytest.mark.slow
async def test_a_refused_change_says_why_and_keeps_what_was_typed(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await two_tickets(harness)
    async with serving(harness.config) as api:
        await api.user("sara", "agent", "en")
        await api.user("reza", "agent", "en")
        sara = await console.signed_in(chromium, api, "sara")
        reza = await console.signed_in(chromium, api, "reza")
        await sara.goto("/tickets/12-000001")
        await reza.goto("/tickets/12-000001")

        await reza.get_by_role("combobox", name="Status", exact=True).select_option("in_progress")
        await reza.get_by_role("button", name="Save").click()
        await reza.get_by_text("Status saved.").wait_for()

        # sara still sees it open: her change is not written over reza's
        await sara.get_by_role("combobox", name="Status", exact=True).select_option("closed")
        await sara.get_by_label("Note with the change (optional)").fill("duplicate of 12-000002")
        await sara.get_by_role("button", name="Save").click()
        await sara.get_by_text("Someone changed this ticket meanwhile: look again.").wait_for()
        assert await sara.get_by_label("Note with the change (optional)").input_value() == "duplicate of 12-000002"
        assert await harness.sql("SELECT status FROM tickets WHERE ref = '12-000001'") == [("in_progress",)]

        long = "گروه فنی در راه است. " * 5  # two UCS-2 parts, over reply_max_parts = 1
        await sara.get_by_role("textbox", name="Reply", exact=True).fill(long)
        assert await sara.locator("#reply-parts").inner_text() == "2 SMS part(s), 104 characters"  # as sent: trimmed
        assert await sara.locator("#reply-parts.over").count() == 1
        await sara.get_by_role("button", name="Send reply").click()
        await sara.locator(".error", has_text="the reply is 2 SMS parts").wait_for()
        assert await sara.get_by_role("textbox", name="Reply", exact=True).input_value() == long  # as typed
        assert len(sent_to(harness, FIRST)) == 1  # nothing went
        await sara.get_by_label("Send it even if it is more than 1 SMS part(s)", exact=False).check()
        await sara.get_by_role("button", name="Send reply").click()
        await sara.get_by_text("Reply queued").wait_for()
        await eventually(lambda: long.strip() in sent_to(harness, FIRST), timeout=30)
