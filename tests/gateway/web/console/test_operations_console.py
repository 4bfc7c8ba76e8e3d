"""The SIM bank, opt-outs and contacts, the CRM link and the audit log in a real browser: the
SIM bank shows both SIMs of the real daemon and an unplugged one goes down without a reload;
a supervisor opts a phone out and back in, imports a CSV and gets its line-by-line report (a
file sent without the form's CSRF token is refused); the Audit page lists those writes; the
Outages page lists one declared through the API."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import Config
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import PHONE, Console, overflow, words
from tests.gateway.web.console.test_desk_console import start

CSV = (
    b"phone,name,area,language\n"
    b"0912 500 0001,Sara,North,fa\n"
    b"not a phone,Nobody,North,fa\n"
    b"+447700900002,Tom,South,en\n"
    b"09125000001,Sara again,North,fa\n"
)


@pytest.mark.slow
async def test_the_sim_bank_shows_both_sims_and_an_unplugged_one_goes_down_without_reload(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await start(harness)
    async with serving(harness.config) as api:
        await api.user("ali", "agent", "en")
        page = await console.signed_in(chromium, api, "ali")
        await page.get_by_role("link", name="SIM bank").click()
        await page.wait_for_url("**/sims")
        cards = page.locator("#sims li[data-sim]")
        assert [await c.get_attribute("data-sim") for c in await cards.all()] == ["m1", "m2"]
        m2 = page.locator("#sims li[data-sim='m2']")
        assert await m2.locator("[data-state]").get_attribute("data-state") == "ready"
        shown = words(await m2.inner_text())
        assert "Signal" in shown and "Operator" in shown and "Sent today 0 of" in shown and "Queue 0" in shown
        await page.get_by_text("Live: a SIM that changes state shows here at once.").wait_for()
        await console.shot(page, "sims-en")
        await page.evaluate("window.notReloaded = true")

        harness.emu("m2").unplug()

        async def down() -> bool:
            await harness.rounds("sim-monitor", 1)
            return await m2.locator("[data-state]").get_attribute("data-state") == "down"

        await eventually(down, timeout=20)
        assert "down" in await m2.locator("h3").inner_text()
        assert await page.locator("#sims li[data-sim='m1'] [data-state]").get_attribute("data-state") == "ready"
        assert await page.evaluate("window.notReloaded") is True

        await page.get_by_role("link", name="CRM link").click()
        assert words(await page.locator("#link-state").inner_text()) == "not configured"
        await console.shot(page, "crm-en")

        await api.user("mina", "agent", "fa")
        mina = await console.signed_in(chromium, api, "mina", viewport=PHONE)
        await mina.goto("/sims")
        # down, or already trying again (the worker reconnects with backoff): in Persian either way
        shown = await mina.locator("#sims li[data-sim='m2'] h3").inner_text()
        assert "از کار افتاده" in shown or "در حال اتصال" in shown, shown
        assert await overflow(mina) == 0
        await console.shot(mina, "sims-fa-360")
        await mina.goto("/crm")
        assert "پیکربندی نشده" in await mina.locator("#link-state").inner_text()  # no [crm] url
        await console.shot(mina, "crm-fa-360")


@pytest.mark.slow
async def test_opt_outs_a_csv_import_report_and_the_audit_page(
    api_config: Config, chromium: Any, console: Console
) -> None:
    async with serving(api_config) as api:
        await api.user("sara", "supervisor", "en")
        page = await console.signed_in(chromium, api, "sara")
        await page.get_by_role("link", name="Opt-outs and contacts").click()
        await page.wait_for_url("**/people")

        await page.get_by_label("Phone to opt out").fill("0912 123 4567")
        await page.get_by_role("button", name="Add opt-out").click()
        await page.get_by_text("+989121234567 opted out: no broadcasts go to it.").wait_for()
        assert await page.locator("#optouts li[data-phone='+989121234567']").count() == 1
        await page.get_by_label("Phone to opt out").fill("12")  # no phone number: named, and kept
        await page.get_by_role("button", name="Add opt-out").click()
        await page.locator(".error").wait_for()
        assert await page.get_by_label("Phone to opt out").input_value() == "12"
        await page.get_by_role("button", name="Remove opt-out of +989121234567").click()
        await page.get_by_text("+989121234567 may get broadcasts again.").wait_for()
        assert await page.locator("#optouts li[data-phone]").count() == 0

        upload = {"name": "north.csv", "mimeType": "text/csv", "buffer": CSV}
        await page.get_by_label("CSV file").set_input_files(upload)
        await page.get_by_label("Into group (optional)").fill("north")
        await page.get_by_role("button", name="Import").click()
        report = page.locator("#report")
        await report.wait_for()
        summary = words(await report.locator("#report-summary").inner_text())
        assert summary.startswith("north.csv: 3 good row(s) -- 2 new, 0 updated, 1 repeated; 1 skipped."), summary
        lines = [words(r) for r in await report.locator("#report-lines tbody tr").all_inner_texts()]
        assert len(lines) == 2 and lines[0].startswith("3 ") and lines[1].startswith("5 "), lines
        contacts = page.locator("#contacts li[data-phone]")
        assert [await c.get_attribute("data-phone") for c in await contacts.all()] == ["+447700900002", "+989125000001"]
        await console.shot(page, "people-en")

        # the import form without its CSRF token: refused, nothing imported
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in await page.context.cookies())
        refused = await api.client.post(
            "/people/import", files={"file": ("x.csv", b"phone\n+989125000009\n", "text/csv")},
            headers={"Cookie": cookie},
        )  # fmt: skip
        assert refused.status_code == 403
        assert await page.locator("#contacts li[data-phone]").count() == 2

        await page.get_by_role("link", name="Audit").click()
        await page.wait_for_url("**/audit")
        actions = [await r.get_attribute("data-action") for r in await page.locator("#audit tr[data-action]").all()]
        assert actions[:3] == ["contacts.imported", "optout.removed", "optout.added"], actions
        row = words(await page.locator("#audit tr[data-action='contacts.imported']").inner_text())
        assert "sara" in row and "north.csv" in row and "127.0.0.1" in row, row
        await console.shot(page, "audit-en")
        await page.get_by_label("Who").fill("nobody")
        await page.get_by_role("button", name="Apply").click()
        await page.get_by_text("No entries match.").wait_for()

        declared = await api.send("POST", "/api/v1/outages", role="supervisor", json={"areas": ["North"]})
        assert declared.status_code == 201, declared.text
        await page.get_by_role("link", name="Outages").click()  # read only
        row = words(await page.locator("#outages tr[data-outage='1']").inner_text())
        assert "North" in row and "active" in row, row
        await console.shot(page, "outages-en")

        await api.user("reza", "supervisor", "fa")
        reza = await console.signed_in(chromium, api, "reza")
        await reza.goto("/people?search=0912 500 0001")
        assert await reza.locator("#contacts li[data-phone]").count() == 1
        await console.shot(reza, "people-fa")
        await reza.goto("/audit")
        await console.shot(reza, "audit-fa")
        await reza.goto("/outages")
        assert "جاری" in await reza.locator("#outages tr[data-outage='1']").inner_text()
        await console.shot(reza, "outages-fa")
