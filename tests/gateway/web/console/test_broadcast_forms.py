"""The broadcast forms without JavaScript (a real ``gateway serve``, a real browser with its
script off): the notice is shown by its button, a refusal names the problem and keeps what was
typed, Create after a change to the form shows the new plan instead of creating, then creates;
pause, resume and cancel, each audited as the supervisor."""

from __future__ import annotations

from typing import Any

from gateway.broadcast.contacts import Contact
from gateway.config import Config
from gateway.store import Store
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import Console, words

PEOPLE = [Contact("+989125000001", language="fa", area="North"), Contact("+447700900001", language="en", area="North")]


async def test_a_broadcast_without_javascript_from_the_form_to_cancel(
    api_config: Config, chromium: Any, console: Console
) -> None:
    async with await Store.open(api_config.database_path, site="12") as store:
        await store.upsert_contacts(PEOPLE, "north")
    async with serving(api_config) as api:
        await api.user("sara", "supervisor", "en")
        page = await console.signed_in(chromium, api, "sara", script=False)
        await page.goto("/broadcasts/new")
        await page.get_by_label("Template").select_option("restored")
        await page.get_by_role("button", name="Show notice").click()
        area = page.get_by_label("area", exact=True)
        await area.wait_for()
        assert "Power is back in North district." in await page.locator("#preview").inner_text()  # the sample

        await page.get_by_label("Group").select_option("north")
        await page.get_by_role("button", name="Dry run").click()  # no value for {area}
        error = words(await page.locator(".error").inner_text())
        assert "needs area" in error, error
        assert await page.get_by_label("Group").input_value() == "north"  # kept
        await area.fill("North")
        await page.get_by_label("Area", exact=True).fill("Atlantis")
        await page.get_by_role("button", name="Dry run").click()
        assert "no contact has area 'Atlantis'" in await page.locator(".error").inner_text()
        await page.get_by_label("Area", exact=True).fill("")
        await page.get_by_role("button", name="Dry run").click()
        assert words(await page.locator("#plan-recipients").inner_text()) == "2"

        await area.fill("Northern district")  # changed after the dry run: Create shows the new plan
        await page.get_by_role("button", name="Create").click()
        assert "The form changed since the dry run" in await page.locator("main").inner_text()
        assert "Power is back in Northern district." in await page.locator("#preview").inner_text()
        async with await Store.open(api_config.database_path, site="12") as store:
            assert await store.campaigns(10) == []
        await page.get_by_role("button", name="Create").click()
        await page.get_by_text("Broadcast #1 created.").wait_for()
        campaign = page.locator("#campaign-1")
        assert await campaign.get_attribute("data-status") == "running"
        for button, done, status in (("Pause", "paused", "paused"), ("Resume", "resumed", "running"),
                                     ("Cancel", "cancelled", "cancelled")):  # fmt: skip
            await campaign.get_by_role("button", name=button).click()
            await page.get_by_text(f"Broadcast #1 {done}.").wait_for()
            assert await campaign.get_attribute("data-status") == status
        assert await campaign.get_by_role("button").count() == 0  # nothing left to do with it
        async with await Store.open(api_config.database_path, site="12") as store:
            entries = [(e.actor, e.action) for e in reversed(await store.audit_entries()) if "broadcast" in e.action]
        assert entries == [("sara", f"broadcast.{a}") for a in ("created", "paused", "resumed", "cancelled")]
