"""AT answers are read by their prefix, never by position: unsolicited lines may land anywhere."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim_bank import at

# what real modems slip into answers: Huawei reports, registration, new SMS, ring
URCS = [
    "^RSSI:17",
    "^BOOT:20155479,0,0,0,72",
    "^MODE:5,4",
    "^SRVST:2",
    '^HCSQ:"LTE",45,38,121,24',
    "+CREG: 1",
    '+CMTI: "SM",3',
    '+CDSI: "SR",1',
    "+CIEV: 2,3",
    "RING",
    "Call Ready",
]
urc = st.sampled_from(URCS)


def _scatter(data: st.DataObject, answer: list[str]) -> list[str]:
    """``answer`` with URCs inserted at any places (before, between, after its lines)."""
    lines = list(answer)
    for _ in range(data.draw(st.integers(0, 3))):
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(urc))
    return [*lines, "OK"]


@given(st.data())
def test_storage_list_is_found_wherever_urcs_land(data: st.DataObject) -> None:
    lines = _scatter(data, ['+CPMS: ("ME","SM","SR"),("ME","SM"),("ME","SM")'])
    assert at.parse_cpms_support(lines) == (("ME", "SM", "SR"), ("ME", "SM"), ("ME", "SM"))


@given(st.data(), st.sampled_from(["huawei", "WAVECOM MODEM", "SIMCOM_Ltd", "Quectel", "+CGMI: ZTE CORPORATION"]))
def test_manufacturer_is_never_a_urc(data: st.DataObject, answer: str) -> None:
    value = at.info_value(_scatter(data, [answer]), "AT+CGMI")
    assert value == answer.removeprefix("+CGMI: ")


@given(st.data())
def test_imei_with_and_without_prefix(data: st.DataObject) -> None:
    assert at.info_value(_scatter(data, ["356789012345678"]), "AT+CGSN") == "356789012345678"
    assert at.info_value(_scatter(data, ['+CGSN: "356789012345678"']), "AT+CGSN") == "356789012345678"


def test_storage_answers_of_other_shapes() -> None:
    assert at.parse_cpms_support(['+CPMS: ("SM","BM","SR"),("SM")', "OK"]) == (("SM", "BM", "SR"), ("SM",))
    assert at.parse_cpms_support(["+CPMS: (),(),()", "OK"]) == ((), (), ())  # Nokia S60: reads nothing
    assert at.parse_cpms_support(["^RSSI:17", "OK"]) is None
    assert at.parse_cpms_support(["ERROR"]) is None


def test_a_line_with_the_commands_own_prefix_is_its_answer() -> None:
    assert not at.is_urc("+CREG: 0,1", "AT+CREG?")
    assert not at.is_urc('+CREG: 2,1,"00C3","0E2B"', "AT+CREG?")
    assert at.is_urc("+CREG: 1", "AT+CSQ")
    assert at.is_urc("+CREG: 2", "AT+CREG?")  # news that landed in the answer: acted on, not the answer
    assert at.is_urc('+CREG: 1,"00C3","0E2B"', "AT+CREG?")
    assert not at.is_urc("^SYSINFO:2,3,0,5,1", "AT^SYSINFO")
    assert at.is_urc("^SYSINFO:2,3,0,5,1", "AT+CGMI")
    assert not at.is_urc("huawei", "AT+CGMI")
    assert not at.is_urc("+CGMI", "AT+CLAC")  # one line of a multi-line AT+CLAC listing
    assert at.command_prefix("AT+CPMS=?") == "+CPMS" and at.command_prefix("ATZ") is None


@given(st.data())
def test_listing_keeps_every_entry_and_hands_back_the_urcs(data: st.DataObject) -> None:
    pdus = ["07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", "0011AB"]
    answer = []
    for index, p in enumerate(pdus, start=1):
        answer += [f"+CMGL: {index},0,,{len(p) // 2}", p]
    lines = _scatter(data, answer)
    entries, stray = at.parse_cmgl(lines)
    assert [(e.index, e.pdu) for e in entries] == [(1, pdus[0]), (2, pdus[1])]
    assert sorted(stray) == sorted(line for line in lines if line in URCS)


@given(st.data())
def test_every_urc_in_an_answer_is_picked_out_with_what_belongs_to_it(data: st.DataObject) -> None:
    answer = ["+CSQ: 20,99"]
    lines = _scatter(data, answer)
    assert at.unsolicited(lines, "AT+CSQ") == [line for line in lines if line in URCS]
    assert at.parse_csq(lines) == 20


def test_unsolicited_keeps_a_report_with_its_pdu_and_a_ussd_text_with_its_lines() -> None:
    lines = ["+CDS: 25", "0791", "+CSQ: 20,99", '+CUSD: 0,"Balance:', '5,000 Rials",15', "OK"]
    assert at.unsolicited(lines, "AT+CSQ") == ["+CDS: 25", "0791", '+CUSD: 0,"Balance:', '5,000 Rials",15']
    assert at.answer_lines(["^RSSI:17", '+CUSD: 0,"x",15', "OK"], 'AT+CUSD=1,"*140#",15') == ['+CUSD: 0,"x",15']


@given(st.data())
def test_registration_answer_wins_over_a_registration_urc_in_it(data: st.DataObject) -> None:
    lines = _scatter(data, ["+CREG: 1,5"])  # roaming; the scattered "+CREG: 1" URCs say home
    assert at.parse_creg(lines) == 5
    assert at.parse_creg(["+CREG: 3", "OK"]) == 3  # a modem that answers in the short form
