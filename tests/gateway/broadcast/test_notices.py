"""Pre-approved notices: the shipped ones, mistakes reported by line, the CLI views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.broadcast.templates import load_notices, measure
from gateway.cli import main
from gateway.exceptions import CatalogueError, NoticeError


def test_the_shipped_notices_cover_outage_update_restored_in_one_part_each() -> None:
    notices = load_notices()
    assert {"outage", "update", "restored"} <= set(notices)
    for n in notices.values():
        for lang, text in n.render_all(n.samples).items():
            assert measure(lang, text).parts == 1, (n.name, lang)


def test_values_get_the_languages_digits_and_stay_text() -> None:
    outage = load_notices()["outage"]
    assert "۱۸:۳۰" in outage.render("fa", {"area": "شمال", "eta": "18:30"})
    assert "١٨:٣٠" in outage.render("ar", {"area": "x", "eta": "18:30"})
    assert "{eta}" in outage.render("en", {"area": "{eta}", "eta": "1"})  # a value is never a template
    with pytest.raises(NoticeError, match="needs eta"):
        outage.render("en", {"area": "North"})


def test_a_placeholder_not_declared_is_reported_with_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "templates.toml"
    bad.write_text(
        '[outage]\nvariables = { area = "x" }\nfa = "{area}"\nar = "{area}"\nen = "Outage in {area} until {eta}"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as err:
        load_notices(bad)
    assert f"{bad}, line 5: outage.en: uses {{eta}}" in str(err.value)


def test_a_notice_missing_a_language_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "templates.toml"
    bad.write_text('[restored]\nfa = "وصل شد"\nen = "Back"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"restored\.ar: is missing or empty"):
        load_notices(bad)


def test_templates_list_and_show() -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["templates", "list", "--json"]).stdout)
    assert [n["name"] for n in listed] == ["outage", "update", "restored", "check"]
    shown = runner.invoke(main, ["templates", "show", "restored"])
    assert shown.exit_code == 0 and "fa (1 part, ucs2): برق North district وصل شد." in shown.stdout
    unknown = runner.invoke(main, ["templates", "show", "flood"])
    assert unknown.exit_code == 1 and "no notice 'flood'; there are: check, outage, restored, update" in unknown.output


def test_a_value_may_be_given_per_language() -> None:
    restored = load_notices()["restored"]
    values = {"area": "North", "area.fa": "شمال", "area.ar": "الشمال"}
    texts = restored.render_all(values)
    assert "شمال" in texts["fa"] and "الشمال" in texts["ar"] and "North" in texts["en"]
    with pytest.raises(NoticeError, match=r"needs area \(en\)"):
        restored.render_all({"area.fa": "شمال", "area.ar": "الشمال"})
