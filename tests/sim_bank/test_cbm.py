"""Cell broadcast pages (3GPP TS 23.041): what the national alert system told the phones in a cell."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim_bank import cbm
from sim_bank.exceptions import PduError
from sim_bank.gsm7 import gsm7_septets, pack_septets

PERSIAN = "هشدار زلزله: از ساختمان‌ها دور بمانید و به فضای باز بروید. آزمایشی نیست."  # 72 characters: two pages


def _heard(pdus: list[str]) -> cbm.CellMessage | None:
    assembler = cbm.PageAssembler()
    found = None
    for hexpdu in pdus:
        for page in cbm.decode(hexpdu):
            found = assembler.add(page) or found
    return found


def test_a_real_gsm_page_decodes_to_its_fields() -> None:
    # serial 0x0011 (cell wide, message code 1, update 1), identifier 4370 (0x1112), DCS 0x01
    # (GSM-7, English), page 1 of 1, "Test" packed and padded with CR
    body = pack_septets([*(gsm7_septets("Test") or []), *[0x0D] * 89]).hex()
    hexpdu = "0011" + "1112" + "01" + "11" + body
    (page,) = cbm.decode(hexpdu)
    assert (page.message_id, page.serial, page.language, page.text, page.total) == (4370, 0x11, "en", "Test", 1)
    message = _heard([hexpdu])
    assert message is not None
    assert (message.geo_scope, message.message_code, message.update_number) == (0, 1, 1)


def test_a_two_page_ucs2_alert_in_persian_is_joined_with_its_language() -> None:
    pdus = cbm.encode(4370, cbm.serial_number(0, 42, 0), PERSIAN, "fa")
    assert len(pdus) == 2 and all(len(p) == 2 * cbm.PAGE_OCTETS for p in pdus)
    assert [p[8:10] for p in pdus] == ["11", "11"]  # UCS-2 preceded by the language
    message = _heard(list(reversed(pdus)))  # pages may come in any order
    assert message is not None
    assert (message.text, message.language, message.pages, message.message_code) == (PERSIAN, "fa", 2, 42)


def test_gsm7_pages_carry_93_characters_and_keep_escapes_whole() -> None:
    text = "Flood warning for the river valley. " * 5 + "{€}"
    pdus = cbm.encode(4371, cbm.serial_number(1, 3, 2), text, "en")
    assert len(pdus) == 2
    message = _heard(pdus)
    assert message is not None and (message.text, message.language, message.geo_scope) == (text, "en", 1)


def test_a_language_the_coding_scheme_cannot_name_goes_before_the_text() -> None:
    pdus = cbm.encode(4370, 1, "Hoshdar", "fa")  # GSM-7 text in a language with no DCS code of its own
    assert pdus[0][8:10] == "10"
    message = _heard(pdus)
    assert message is not None and (message.text, message.language) == ("Hoshdar", "fa")


def test_umts_format_holds_every_page_in_one_pdu() -> None:
    pages = [bytes.fromhex(p) for p in cbm.encode(4370, 0x3002, PERSIAN, "fa")]
    umts = bytes([1]) + (4370).to_bytes(2, "big") + (0x3002).to_bytes(2, "big") + bytes([0x11, len(pages)])
    for page in pages:
        umts += page[6:] + bytes([82])
    message = _heard([umts.hex()])
    assert message is not None and (message.text, message.serial, message.geo_scope) == (PERSIAN, 0x3002, 0)


@pytest.mark.parametrize(
    ("hexpdu", "reason"),
    [
        ("ZZ", "not hex"),
        ("0011111201", "5 octets"),
        ("0011" + "1112" + "01" + "31" + "00" * 82, "page 3 of 1"),
        ("0011" + "1112" + "60" + "11" + "00" * 82, "compressed"),
        ("0011" + "1112" + "A0" + "11" + "00" * 82, "reserved"),
    ],
)
def test_a_malformed_page_is_refused_with_the_reason(hexpdu: str, reason: str) -> None:
    with pytest.raises(PduError, match=reason):
        cbm.decode(hexpdu)


def test_pages_of_a_message_never_completed_are_dropped_after_the_window() -> None:
    now = [0.0]
    dropped: list[tuple[int, int]] = []
    assembler = cbm.PageAssembler(lambda page, heard: dropped.append((page.message_id, heard)), lambda: now[0])
    first, _second = (cbm.decode(p)[0] for p in cbm.encode(4370, 7, PERSIAN, "fa"))
    assert assembler.add(first) is None and assembler.waiting == 1
    now[0] = cbm.ASSEMBLY_WINDOW + 1
    single = cbm.decode(cbm.encode(4371, 8, "Short", "en")[0])[0]
    assert assembler.add(single) is not None
    assert assembler.waiting == 0 and dropped == [(4370, 1)]


@pytest.mark.parametrize(
    ("text", "ranges"),
    [("4370-4399", [(4370, 4399)]), ("4370-4399, 50", [(4370, 4399), (50, 50)]), (" 919 ", [(919, 919)])],
)
def test_channels(text: str, ranges: list[tuple[int, int]]) -> None:
    assert cbm.parse_channels(text) == ranges


@pytest.mark.parametrize("text", ["", "4399-4370", "43a", "70000", "1-2-3"])
def test_bad_channels_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        cbm.parse_channels(text)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-16", exclude_categories=("Cs", "Cc")), min_size=1, max_size=300),
    language=st.sampled_from([None, "en", "fa", "ar", "de"]),
)
def test_any_text_that_fits_is_heard_as_it_was_sent(text: str, language: str | None) -> None:
    text = text.rstrip("\r")
    try:
        pdus = cbm.encode(4370, 0x1234, text.rstrip("\x00") or "x", language)
    except ValueError:
        return  # longer than 15 pages
    message = _heard(pdus)
    assert message is not None
    assert message.text == (text.rstrip("\x00") or "x").rstrip("\r\x00")


def test_the_same_copy_read_twice_is_one_message_and_a_repetition_later_is_heard_again() -> None:
    now = [0.0]
    assembler = cbm.PageAssembler(clock=lambda: now[0])
    pages = [cbm.decode(p)[0] for p in cbm.encode(4370, 7, PERSIAN, "fa")]
    assert [assembler.add(p) for p in pages][-1] is not None
    assert [assembler.add(p) for p in pages] == [None, None]  # the pages again, read from a command's answer
    now[0] = 30.0  # the network's next repetition
    assert [assembler.add(p) for p in pages][-1] is not None
