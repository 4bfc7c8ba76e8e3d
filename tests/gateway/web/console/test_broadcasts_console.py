"""Broadcasts in the console, in a real browser on the real daemon (emulated modems) and a real
``gateway serve`` with two-person approval on: a supervisor drafts one (the notice's preview,
one box per variable, the audience), sees the dry run's plan and creates it; it waits; a second
supervisor approves it; its progress bar reaches the end without a reload and each recipient's
phone got the notice once, in its language. An agent sees no Broadcasts and gets 403; a
Persian supervisor's pages are right to left and no wider than a 360 px phone."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.broadcast.contacts import Contact
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import PHONE, Console, overflow, words
from tests.gateway.web.console.test_desk_console import start

PEOPLE = [Contact("+989125000001", language="fa"), Contact("+989125000002", language="fa"),
          Contact("+447700900001", language="en")]  # fmt: skip


def received(h: Harness) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in h.emulators:
        for m in e.sent:
            out.setdefault(m.number, []).append(m.text)
    return out


@pytest.mark.slow
async def test_a_supervisor_drafts_a_broadcast_sees_the_plan_and_a_second_one_approves_it(
    harness: Harness, chromium: Any, console: Console
) -> None:
    config = harness.configure(web=dataclasses.replace(harness.config.web, broadcast_approval=True))
    await start(harness)
    await harness.store.upsert_contacts(PEOPLE, "north")
    async with serving(config) as api:
        await api.user("sara", "supervisor", "en")
        await api.user("reza", "supervisor", "en")
        sara = await console.signed_in(chromium, api, "sara")
        await sara.get_by_role("link", name="Broadcasts").click()
        await sara.get_by_role("link", name="New broadcast").click()
        await sara.wait_for_url("**/broadcasts/new")
        await sara.get_by_label("Template").select_option("outage")  # the script shows its variables
        await sara.get_by_label("eta", exact=True).wait_for()
        preview = words(await sara.locator("#preview").inner_text())
        assert "Power outage in North district. Expected back around 18:00." in preview  # the samples
        assert "قطعی برق در North district" in preview and "1 SMS part(s)" in preview
        await sara.get_by_label("area", exact=True).fill("North")
        await sara.get_by_label("area in Persian (فارسی)").fill("شمال")
        await sara.get_by_label("eta", exact=True).fill("18:00")
        await sara.get_by_label("Group").select_option("north")
        await sara.get_by_role("button", name="Dry run").click()
        plan = sara.locator("#plan")
        await plan.wait_for()
        assert words(await sara.locator("#plan-recipients").inner_text()) == "3"
        assert words(await plan.locator("[data-language=fa]").inner_text()) == "2 recipient(s), 1 part(s) each"
        assert words(await plan.locator("[data-language=en]").inner_text()) == "1 recipient(s), 1 part(s) each"
        sims = await plan.locator("table tbody tr").all_inner_texts()
        assert [words(s).split()[0] for s in sims] == ["m1", "m2"]  # each SIM's share of the quota
        assert await sara.locator("#plan-finish bdi").count() == 1  # an estimated finish
        assert "قطعی برق در شمال" in await sara.locator("#preview").inner_text()  # the values typed
        assert received(harness) == {} and await harness.sql("SELECT COUNT(*) FROM campaigns") == [(0,)]
        await console.shot(sara, "broadcast-new-en")
        await sara.get_by_role("button", name="Create").click()
        await sara.get_by_text("Broadcast #1 created.").wait_for()
        queue = sara.locator("#queue")
        assert "Waiting for another supervisor to approve it." in await queue.inner_text()
        assert await sara.get_by_role("button", name="Approve").count() == 0  # not its creator
        assert await sara.locator("#campaign-1").get_attribute("data-status") == "pending_approval"
        await harness.rounds("campaigns", 3)
        assert received(harness) == {}  # nothing goes while it waits

        reza = await console.signed_in(chromium, api, "reza")
        await reza.goto("/broadcasts")
        await reza.evaluate("window.notReloaded = true")
        await reza.locator("#queue").get_by_role("button", name="Approve").click()
        await reza.get_by_text("Broadcast #1 approved: it is being sent.").wait_for()
        await reza.evaluate("window.notReloaded = true")

        bar = reza.locator("#p-1")  # the progress bar, re-read live

        async def full() -> bool:
            return (await bar.get_attribute("value"), await bar.get_attribute("max")) == ("3", "3")

        await eventually(full, timeout=30)
        assert await reza.evaluate("window.notReloaded") is True

        async def done() -> bool:  # the last send counted a moment before the pacer marks the campaign done
            await harness.rounds("campaigns", 1)
            return await reza.locator("#campaign-1").get_attribute("data-status") == "done"

        await eventually(done, timeout=30)
        assert "approved by reza" in await reza.locator("#campaign-1").inner_text()
        got = received(harness)
        assert sorted(got) == sorted(c.phone for c in PEOPLE)
        persian = "قطعی برق در شمال. وصل تا حدود ساعت ۱۸:۰۰. پوزش می‌خواهیم."
        assert got["+989125000001"] == got["+989125000002"] == [persian]
        assert got["+447700900001"] == ["Power outage in North. Expected back around 18:00. We apologise."]
        await console.shot(reza, "broadcasts-en")
        await api.user("mina", "supervisor", "fa")
        mina = await console.signed_in(chromium, api, "mina")
        await mina.goto("/broadcasts")
        assert "۳ از ۳ فرستاده شد" in await mina.locator("#campaign-1").inner_text()  # Persian digits
        await console.shot(mina, "broadcasts-fa")
        audit = await harness.sql("SELECT actor, action FROM audit_log WHERE action LIKE 'broadcast.%' ORDER BY id")
        assert audit == [("sara", "broadcast.created"), ("reza", "broadcast.approved")], audit


@pytest.mark.slow
async def test_an_agent_sees_no_broadcasts_and_is_refused_their_pages(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await harness.start()
    async with serving(harness.config) as api:
        await api.user("ali", "agent", "en")
        await api.user("mina", "supervisor", "fa")
        ali = await console.signed_in(chromium, api, "ali")
        menu = words(await ali.get_by_role("navigation", name="Main menu").inner_text())
        assert "Broadcasts" not in menu and "Audit" not in menu and "Opt-outs and contacts" not in menu
        assert "SIM bank" in menu and "CRM link" in menu
        for path in ("/broadcasts", "/broadcasts/new", "/people", "/audit"):
            answer = await ali.goto(path)
            assert answer is not None and answer.status == 403, path
            assert "You may not see this page." in await ali.locator("main").inner_text()

        mina = await console.signed_in(chromium, api, "mina", viewport=PHONE)  # Persian, on a phone
        await mina.goto("/broadcasts/new?template=outage")
        assert await mina.get_attribute("html", "dir") == "rtl"
        assert await mina.get_by_label("area", exact=True).is_visible()  # a variable's name as the notice has it
        assert await overflow(mina) == 0
        await console.shot(mina, "broadcast-new-fa-360")
        await mina.goto("/broadcasts")
        assert "هنوز پیام همگانی نیست." in await mina.locator("main").inner_text()
        for path in ("/broadcasts", "/sims", "/outages", "/people", "/crm", "/audit"):  # nothing wider than a phone
            answer = await mina.goto(path)
            assert answer is not None and answer.status == 200, path
            assert await mina.get_attribute("html", "dir") == "rtl" and await overflow(mina) == 0, path
