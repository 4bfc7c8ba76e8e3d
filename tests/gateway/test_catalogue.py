"""The keyword catalogue: the shipped one loads; mistakes are reported with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.catalogue import load_catalogue
from gateway.exceptions import CatalogueError
from gateway.resources import shipped

GOOD_REPLIES = """
[replies.ticket_opened]
en = "ok {ref}"
fa = "ok {ref}"
ar = "ok {ref}"
[replies.already_registered]
en = "again {ref}"
fa = "again {ref}"
ar = "again {ref}"
[replies.help]
en = "{menu}"
fa = "{menu}"
ar = "{menu}"
[replies.menu_line]
en = "{code} {label}"
fa = "{code} {label}"
ar = "{code} {label}"
[replies.update]
en = "{ref}: {status}"
fa = "{ref}: {status}"
ar = "{ref}: {status}"
"""


def test_shipped_catalogue_loads_and_covers_the_default_codes() -> None:
    cat = load_catalogue()
    assert {c.code: (c.action, c.category) for c in cat.codes} == {
        "1": ("ticket", "outage"),
        "2": ("ticket", "billing"),
        "3": ("ticket", "callback"),
        "4": ("status", None),
        "STOP": ("stop", None),
        "START": ("start", None),
        "?": ("help", None),
    }
    assert set(cat.statuses) >= {"open", "in_progress", "resolved", "closed"}
    for name, texts in cat.replies.items():
        assert set(texts) == {"fa", "ar", "en"}, name


def test_every_config_file_loads_through_the_daemons_parser() -> None:
    for path in shipped("keywords.toml").parent.glob("*.toml"):
        if path.name == "keywords.toml":
            load_catalogue(path)


def _load(tmp_path: Path, text: str) -> None:
    p = tmp_path / "keywords.toml"
    p.write_text(text, encoding="utf-8")
    load_catalogue(p)


def test_unknown_placeholder_is_reported_with_its_line(tmp_path: Path) -> None:
    text = '[[codes]]\ncode = "1"\ncategory = "outage"\nreply = "ticket_opened"\n' + GOOD_REPLIES.replace(
        'fa = "ok {ref}"', 'fa = "ok {reff}"'
    )
    with pytest.raises(CatalogueError) as err:
        _load(tmp_path, text)
    assert err.value.key == "replies.ticket_opened.fa"
    assert "line 8" in str(err.value) and "{reff}" in str(err.value)


def test_a_ticket_code_with_an_account_needs_the_ask_account_reply(tmp_path: Path) -> None:
    text = '[[codes]]\ncode = "1"\ncategory = "outage"\nargument = "account"\nreply = "ticket_opened"\n' + GOOD_REPLIES
    with pytest.raises(CatalogueError, match=r"needs \[replies.ask_account\]"):
        _load(tmp_path, text)


def test_word_claimed_by_two_codes(tmp_path: Path) -> None:
    text = (
        '[[codes]]\ncode = "1"\ncategory = "outage"\nreply = "ticket_opened"\nwords.en = ["OUT"]\n'
        '[[codes]]\ncode = "2"\ncategory = "billing"\nreply = "ticket_opened"\nwords.en = ["out"]\n' + GOOD_REPLIES
    )
    with pytest.raises(CatalogueError) as err:
        _load(tmp_path, text)
    assert err.value.key == "codes[2].words" and "line 10" in str(err.value)


def test_ticket_code_needs_a_category_and_a_known_reply(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="needs a category"):
        _load(tmp_path, '[[codes]]\ncode = "1"\nreply = "ticket_opened"\n' + GOOD_REPLIES)
    with pytest.raises(CatalogueError, match=r"no \[replies.nope\]"):
        _load(tmp_path, '[[codes]]\ncode = "1"\ncategory = "x"\nreply = "nope"\n' + GOOD_REPLIES)


def test_reply_missing_a_language(tmp_path: Path) -> None:
    text = '[[codes]]\ncode = "1"\ncategory = "x"\nreply = "ticket_opened"\n' + GOOD_REPLIES.replace(
        'ar = "ok {ref}"\n', ""
    )
    with pytest.raises(CatalogueError, match="has no text for ar"):
        _load(tmp_path, text)
