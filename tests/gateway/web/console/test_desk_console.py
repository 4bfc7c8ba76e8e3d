"""The agent's console in a real browser on the real daemon (emulated modems) and a real
``gateway serve``: a customer's SMS appears in the inbox without a reload, the agent replies in
Persian and resolves the ticket telling the customer, and the emulator is asked to send both."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import Console, overflow, words

CUSTOMER = "+989121110001"


def sent_to(h: Harness, number: str) -> list[str]:
    """The texts the emulated modems were asked to send to ``number`` (decoded, parts joined)."""
    return [m.text for e in h.emulators for m in e.sent if m.number == number]


async def start(h: Harness) -> None:
    """The daemon, once its SIM monitor published both SIMs ready (the reply's SIM choice reads it)."""
    await h.start()

    async def published() -> bool:
        await h.rounds("sim-monitor", 1)
        return await h.sql("SELECT DISTINCT state FROM sim_status") == [("ready",)]

    await eventually(published, timeout=15)


@pytest.mark.slow
async def test_an_agent_sees_a_new_sms_live_replies_in_persian_and_resolves_with_notify(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await start(harness)
    async with serving(harness.config) as api:
        await api.user("sara", "agent", "en")
        page = await console.signed_in(chromium, api, "sara")
        await page.get_by_text("Live: new tickets appear here.").wait_for()  # the event stream is open
        await page.evaluate("window.notReloaded = true")

        harness.emu("m2").inject_sms(CUSTOMER, "قطع برق ۴۸۲۱۳")
        await eventually(lambda: len(sent_to(harness, CUSTOMER)) == 1, timeout=30)  # routed: the auto-reply
        routed = time.monotonic()
        row = page.locator("#tickets tr[data-ref='12-000001']")
        await row.wait_for(timeout=2000)  # within 2 s of the ticket, without a reload
        assert time.monotonic() - routed < 2.5
        assert await page.evaluate("window.notReloaded") is True
        assert "قطع برق" in await row.inner_text() and CUSTOMER in await row.inner_text()
        assert words(await page.locator("#counts").text_content()) == "Open 1 In progress 0 Resolved 0 Closed 0"
        await console.shot(page, "inbox-en")

        await row.get_by_role("link", name="12-000001").click()
        await page.wait_for_url("**/tickets/12-000001")
        assert "The customer will get it in Persian" in await page.locator("#reply-language").inner_text()
        await page.get_by_label("Canned reply").select_option("restored")  # the notice in the customer's language
        canned = await page.get_by_role("textbox", name="Reply", exact=True).input_value()
        assert canned == "برق {area} وصل شد. از صبوری شما سپاسگزاریم.", canned  # {area} left for the agent
        reply = "گروه فنی در راه است."
        await page.get_by_role("textbox", name="Reply", exact=True).fill(reply)
        assert await page.locator("#reply-parts").inner_text() == "1 SMS part(s), 20 characters"
        await console.shot(page, "ticket-en")
        await page.get_by_role("button", name="Send reply").click()
        await page.get_by_text("Reply queued (outbox #2).").wait_for()
        await eventually(lambda: reply in sent_to(harness, CUSTOMER), timeout=30)

        await page.get_by_role("combobox", name="Status", exact=True).select_option(label="Resolved")
        await page.get_by_label("Notify the customer").check()
        await page.get_by_role("button", name="Save").click()
        await page.get_by_text("Status saved.").wait_for()
        await eventually(lambda: len(sent_to(harness, CUSTOMER)) == 3, timeout=30)
        told = sent_to(harness, CUSTOMER)[2]
        assert "۱۲-۰۰۰۰۰۱" in told, told  # the status's words in Persian, naming the ticket
        assert await harness.sql("SELECT status FROM tickets") == [("resolved",)]
        assert "Resolved" in await page.locator("#details").inner_text()
        # the thread shows the reply's delivery state (sent, or delivered once the report came)
        gone = page.locator("#thread li.out", has_text=reply).locator(".delivery-sent, .delivery-delivered")
        await gone.wait_for()

        await page.evaluate("window.notReloaded = true")
        harness.emu("m2").inject_sms(CUSTOMER, "هنوز برق نیامده")  # the customer texts again: live in the thread
        await page.locator("#thread li.in", has_text="هنوز برق نیامده").wait_for()
        assert await page.evaluate("window.notReloaded") is True
        assert await overflow(page) == 0
