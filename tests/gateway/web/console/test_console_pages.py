"""The console's pages in a real browser on the real daemon and ``gateway serve``: Persian
right to left with Persian digits and a Jalali date, nothing wider than a 360 px phone, each
person's own language, a form without its CSRF token refused and a page a role may not see
answered 403. Screenshots of every page in English and Persian are saved (``CONSOLE_SHOTS``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends

from gateway.access.principal import Principal
from gateway.web.console.pages import page as console_page
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving
from tests.gateway.web.console.browser import PHONE, Console, overflow, words
from tests.gateway.web.console.test_desk_console import sent_to

CUSTOMER = "+989121110002"
JALALI = re.compile(r"۱۴۰[۰-۹]-[۰-۹]{2}-[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}")  # 1405-09-11 12:30, in Persian digits


async def a_ticket(h: Harness) -> None:
    await h.start()
    h.emu("m1").inject_sms(CUSTOMER, "قطع ۵۵۵۵۵")
    await eventually(lambda: len(sent_to(h, CUSTOMER)) == 1, timeout=30)


@pytest.mark.slow
async def test_the_persian_console_is_right_to_left_with_persian_digits_and_jalali_dates_even_at_360_px(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await a_ticket(harness)
    async with serving(harness.config) as api:
        await api.user("maryam", "agent", "fa")
        before = await chromium.new_page(base_url=api.url, locale="fa-IR")  # a Persian browser, no one signed in
        await before.goto("/sign-in")
        assert await before.get_attribute("html", "dir") == "rtl"
        assert await before.get_by_role("button", name="ورود").is_visible()
        await console.shot(before, "sign-in-fa")
        await before.close()
        for size, viewport in (("", None), ("-360", PHONE)):
            page = await console.signed_in(chromium, api, "maryam", viewport=viewport)
            assert await page.get_attribute("html", "dir") == "rtl"
            assert await page.get_attribute("html", "lang") == "fa"
            assert words(await page.locator("#counts").text_content()) == "باز ۱ در دست بررسی ۰ حل‌شده ۰ بسته ۰"
            row = page.locator("#tickets tr[data-ref='12-000001']")
            assert "۱۲-۰۰۰۰۰۱" in await row.inner_text() and "+۹۸۹۱۲۱۱۱۰۰۰۲" in await row.inner_text()
            assert JALALI.search(await row.locator("time").inner_text())
            assert await overflow(page) == 0
            await console.shot(page, f"inbox-fa{size}")

            await row.get_by_role("link").click()
            await page.wait_for_url("**/tickets/12-000001")
            assert await page.locator("h1").inner_text() == "درخواست \u2066۱۲-۰۰۰۰۰۱\u2069 باز"  # the ref kept in order
            assert JALALI.search(await page.locator("#details time").inner_text())
            await page.get_by_role("textbox", name="پاسخ", exact=True).fill("سلام")
            assert await page.locator("#reply-parts").inner_text() == "۱ بخش پیامک، ۴ نویسه"
            assert await overflow(page) == 0
            await console.shot(page, f"ticket-fa{size}")
            await page.context.close()


async def test_each_person_chooses_their_language_and_sees_every_page_in_it(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await a_ticket(harness)
    async with serving(harness.config) as api:
        await api.user("sara", "agent", "en")
        page = await console.signed_in(chromium, api, "sara", viewport=PHONE)
        assert await overflow(page) == 0
        await console.shot(page, "inbox-en-360")
        await page.goto("/tickets/12-000001")
        assert await overflow(page) == 0
        await console.shot(page, "ticket-en-360")

        await page.get_by_role("link", name="Language").click()
        assert await page.get_attribute("html", "dir") == "ltr"
        await console.shot(page, "language-en")
        await page.get_by_label("Language").select_option("fa")
        await page.get_by_role("button", name="Save").click()
        await page.get_by_text("زبان شما ذخیره شد.").wait_for()
        assert await page.get_attribute("html", "dir") == "rtl"
        await console.shot(page, "language-fa")
        await page.get_by_role("link", name="صندوق ورودی").click()
        assert await page.locator("h1").inner_text() == "صندوق ورودی"
        assert await harness.sql("SELECT language FROM users WHERE name = 'sara'") == [("fa",)]
        assert await harness.sql("SELECT actor, action, target FROM audit_log WHERE action = 'user.language'") == [
            ("sara", "user.language", "sara")
        ]

        await page.get_by_role("button", name="خروج").click()
        await page.wait_for_url("**/sign-in")
        await console.shot(page, "sign-in-en")  # before sign-in: the browser's language
        await page.goto("/inbox")
        await page.wait_for_url("**/sign-in?next=/inbox")  # the session is over


async def test_a_form_without_its_csrf_token_is_refused_and_a_role_gets_403_on_a_page_it_may_not_see(
    harness: Harness, chromium: Any, console: Console
) -> None:
    await a_ticket(harness)
    async with serving(harness.config) as api:
        supervisors_only = APIRouter()

        @supervisors_only.get("/supervisors-only")
        async def only(who: Annotated[Principal, Depends(console_page("broadcasts.read"))]) -> str:
            return "seen"

        api.app.include_router(supervisors_only)  # a page of the kind H15b adds, guarded the same way
        await api.user("sara", "agent", "en")
        page = await console.signed_in(chromium, api, "sara")

        forged = await page.request.post("/tickets/12-000001/note", form={"text": "no token"})
        assert forged.status == 403
        assert "needs its CSRF token" in await forged.text()
        posted = await page.request.post(
            "/tickets/12-000001/note", form={"text": "with the token", "csrf_token": await page.input_value(
                "form.sign-out input[name=csrf_token]")},
        )  # fmt: skip
        assert posted.status == 200 and "Note added." in await posted.text()
        assert await harness.sql("SELECT note FROM ticket_history WHERE note IS NOT NULL") == [("with the token",)]
        audited = "SELECT actor, actor_kind, address FROM audit_log WHERE action LIKE 'ticket.%'"
        assert await harness.sql(audited) == [("sara", "user", "127.0.0.1")]  # as the API audits it

        answer = await page.goto("/supervisors-only")
        assert answer is not None and answer.status == 403
        assert await page.locator("h1").inner_text() == "You may not see this page."
        assert "agent may not" in await page.locator(".detail").inner_text()
        answer = await page.goto("/tickets/99-999999")
        assert answer is not None and answer.status == 404
        await console.shot(page, "not-found-en")
