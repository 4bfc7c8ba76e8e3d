"""The console's words, digits and dates (pure), and the translation files an organisation edits."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config import Config, SiteConfig
from gateway.config.sections import WebConfig
from gateway.web.console.inbox import first_words, since_of
from gateway.web.console.locale import LANGUAGES, LOCALE_DIR, words
from gateway.web.console.pages import accepted
from tests.gateway.web.api import serving


def _keys(language: str) -> set[str]:
    with (LOCALE_DIR / f"{language}.toml").open("rb") as f:
        table = tomllib.load(f)
    return {f"{section}.{key}" for section, values in table.items() for key in values}


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_every_english_label_is_translated(language: str) -> None:
    assert _keys("en") - _keys(language) == set()
    assert _keys(language) - _keys("en") == set()  # nothing stale either


def test_labels_digits_and_dates_per_language() -> None:
    fa, ar, en = (words(lang, "Asia/Tehran") for lang in ("fa", "ar", "en"))
    assert (fa.dir, ar.dir, en.dir) == ("rtl", "rtl", "ltr")
    assert fa("ticket", ref=fa.digits("12-000345")) == "درخواست ۱۲-۰۰۰۳۴۵"
    assert ar("ticket", ref=ar.ltr("12-000345")) == "التذكرة \u2066١٢-٠٠٠٣٤٥\u2069"
    assert en("ticket", ref="12-000345") == "Ticket 12-000345"
    assert fa("signed_in_as", name="agent7", role="کارشناس") == "واردشده: agent7 (کارشناس)"  # a name as written
    assert fa("force", max=2) == fa("force", max="۲")  # a number in the language's digits
    stamp = "2026-12-02T08:30:00.000+00:00"  # 12:00 in Tehran
    assert fa.date(stamp) == "۱۴۰۵-۰۹-۱۱ ۱۲:۰۰"  # Jalali: 11 Azar 1405
    assert ar.date(stamp) == "٢٠٢٦-١٢-٠٢ ١٢:٠٠"
    assert en.date(stamp) == "2026-12-02 12:00"
    assert en.date(None) == "" and en.date("yesterday") == "yesterday"  # shown as it is, never a crash
    assert fa.status("in_progress") == "در دست بررسی" and en.delivery("delivered") == "delivered"


def test_a_missing_label_falls_back_to_english_then_to_its_key() -> None:
    assert words("xx", "UTC").language == "en"  # an unknown language: English
    assert words(None, "UTC", default="fa").language == "fa"  # none chosen: the site's
    assert words("fa", "UTC")("no_such_label") == "no_such_label"


def test_the_browser_s_language_before_sign_in() -> None:
    assert accepted("fa-IR,fa;q=0.9,en-US;q=0.8") == "fa"
    assert accepted("de-DE,ar;q=0.5,en;q=0.7") == "en"
    assert accepted("de, *;q=0.1") is None and accepted("") is None and accepted("fa;q=x") is None


def test_the_inbox_reads_since_in_any_digits_and_cuts_first_words() -> None:
    assert since_of("۲۰۲۶-۱۲-۰۱", "Asia/Tehran") == datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Tehran"))
    assert since_of("", "UTC") is None
    with pytest.raises(ValueError, match="since: 'soon' is not a date"):
        since_of("soon", "UTC")
    assert first_words("a  b\nc") == "a b c"
    assert first_words("word " * 30) == ("word " * 12).strip()[:59].rstrip() + "…"
    assert set(LANGUAGES) == {"fa", "ar", "en"}


async def test_an_organisation_s_own_wording_replaces_only_the_labels_it_names(tmp_path: Path) -> None:
    own = tmp_path / "wording"
    own.mkdir()
    (own / "en.toml").write_text('[labels]\nsign_in = "Log in to the desk"\n')
    config = Config(site=SiteConfig(id="12", language="en"), web=WebConfig(locale_dir=str(own)))
    async with serving(config.with_database(tmp_path / "gw.db")) as api:
        page = await api.client.get("/sign-in", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Log in to the desk" in page.text and "Sign in" not in page.text
        persian = await api.client.get("/sign-in", headers={"Accept-Language": "fa"})
        assert "ورود" in persian.text  # fa.toml not overridden: the shipped words
    (own / "fa.toml").write_text("[labels\nsign_in = broken\n")
    path = tmp_path / "gateway.toml"
    path.write_text(f'[web]\nlocale_dir = "{own}"\n')
    out = CliRunner().invoke(main, ["check-config", "-c", str(path)])
    assert out.exit_code == 1 and "web.locale_dir" in out.output and "fa.toml" in out.output
