"""The keyword catalogue: the shipped one loads; mistakes are reported with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.resources import shipped
from gateway.conversation.catalogue import Catalogue
from gateway.conversation.keywords import load_catalogue
from gateway.conversation.router import route
from gateway.exceptions import CatalogueError

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


def test_carrier_opt_out_words_belong_to_stop_and_collide_with_no_other_code() -> None:
    cat = load_catalogue()
    for word in ("STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE"):
        found = cat.lookup(word.lower().split(), fuzzy=False)
        assert found is not None and found[0].code == "STOP" and found[2] == len(word.split()), word
    for word in ("START", "UNSTOP", "SUBSCRIBE"):
        found = cat.lookup([word.lower()], fuzzy=False)
        assert found is not None and found[0].code == "START", word
    # the outage word OUT is still an outage report, and the menu does not offer STOP words
    assert route_action(cat, "OUT 48213") == "ticket"
    assert all(w not in cat.menu(lang).upper() for lang in ("fa", "ar", "en") for w in ("CANCEL", "END", "QUIT"))


def route_action(cat: Catalogue, text: str) -> str:
    return route(text, catalogue=cat).action


STOP_CODE = '[[codes]]\ncode = "STOP"\naction = "stop"\nreply = "stopped"\nwords.en = ["CANCEL"]\n'
STOPPED = GOOD_REPLIES + '[replies.stopped]\nen = "bye"\nfa = "bye"\nar = "bye"\n'
TICKET_CODE = '[[codes]]\ncode = "1"\ncategory = "outage"\nreply = "ticket_opened"\nwords.en = ["OUT"]\n'


def test_a_politeness_word_that_is_also_a_code_word_is_refused(tmp_path: Path) -> None:
    text = STOP_CODE + TICKET_CODE + '[politeness]\nen = ["PLEASE", "out"]\n' + STOPPED
    with pytest.raises(CatalogueError) as err:
        _load(tmp_path, text)
    assert err.value.key == "politeness.en" and "'out' is also a word of code '1'" in str(err.value)


def test_politeness_needs_known_languages_and_lists_of_words(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="unknown language"):
        _load(tmp_path, STOP_CODE + '[politeness]\nde = ["BITTE"]\n' + STOPPED)
    with pytest.raises(CatalogueError, match="list of words"):
        _load(tmp_path, STOP_CODE + '[politeness]\nen = "PLEASE"\n' + STOPPED)


def test_alone_words_must_be_the_codes_own_stop_or_start_words(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as err:
        _load(tmp_path, STOP_CODE.replace("reply =", 'alone = ["QUIT"]\nreply =') + STOPPED)
    assert err.value.key == "codes[1].alone" and "'QUIT' is not a word of this code" in str(err.value)
    with pytest.raises(CatalogueError, match="only STOP and START codes"):
        _load(tmp_path, TICKET_CODE.replace("reply =", 'alone = ["OUT"]\nreply =') + GOOD_REPLIES)


def test_a_politeness_word_makes_no_difference_to_other_codes(tmp_path: Path) -> None:
    p = tmp_path / "keywords.toml"
    p.write_text(STOP_CODE + TICKET_CODE + '[politeness]\nen = ["PLEASE"]\n' + STOPPED, encoding="utf-8")
    cat = load_catalogue(p)
    assert route_action(cat, "cancel please") == "stop"
    assert route_action(cat, "please") == "help"
    assert route_action(cat, "please out 48213") == "ticket"
