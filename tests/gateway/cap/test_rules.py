"""CAP 1.2 documents read and checked by our own rules, against the official schema's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cap.rules import MAX_BYTES, read
from gateway.exceptions import CapRefused
from tests.gateway.cap.shared import REAL_ALERTS, alert, needs_shared, schema


@needs_shared
@pytest.mark.parametrize("path", REAL_ALERTS, ids=lambda p: p.name)
def test_each_real_alert_is_read_as_the_schema_accepts_it(path: Path) -> None:
    assert schema().is_valid(str(path))
    got = read(path.read_bytes())
    assert got.identifier and got.sender and got.status in ("Actual", "Test")
    if got.msg_type == "Cancel":
        assert got.references and not got.infos  # IPAWS: a Cancel with no <info>
    else:
        assert got.infos and all(i.event for i in got.infos)


@needs_shared
def test_the_real_alerts_say_what_they_are() -> None:
    by_name = {p.name: read(p.read_bytes()) for p in REAL_ALERTS}
    iceland = by_name["imo-iceland-wind-is-en.cap"]
    assert [i.language for i in iceland.infos] == ["is-IS", "en-US"]
    assert iceland.infos[1].headline == "Southeast gales"
    assert by_name["pagasa-tropical-cyclone-test.cap"].rehearsal
    assert by_name["pagasa-tropical-cyclone-test.cap"].infos[0].language == "en-US"  # the default
    canada = by_name["eccc-thunderstorm-update-en-fr.cap"]
    assert canada.msg_type == "Update" and [r.identifier for r in canada.references] == [
        "2.49.0.1.124.a3f342a4.2012",
        "2.49.0.1.124.60f31a3a.2012",
    ]
    assert by_name["wra-taiwan-reservoir-bom.cap"].infos[0].headline == "明德水庫:洩洪中"  # after a UTF-8 BOM


ORDER_SWAPPED = b"<msgType>Alert</msgType><status>Actual</status>"
BROKEN = {
    "not XML": (b"<alert>", "not well-formed XML"),
    "CAP 1.1": (alert().replace(b"cap:1.2", b"cap:1.1"), "CAP 1.1"),
    "no sender": (alert().replace(b"<sender>ops@tavanir.example</sender>", b""), "alert/sender is required"),
    "out of order": (
        alert().replace(b"<status>Actual</status><msgType>Alert</msgType>", ORDER_SWAPPED),
        "alert/status is required and missing, or out of order",
    ),
    "bad status": (alert(status="Real"), "alert/status is 'Real': CAP 1.2 allows Actual"),
    "a Z time": (alert(sent="2026-12-02T10:00:00Z"), "an offset, no Z"),
    "no such day": (alert(sent="2026-02-30T10:00:00+03:30"), "not a real date"),
    "space in identifier": (alert(identifier="a b"), "no spaces, commas"),
    "bad urgency": (alert().replace(b"<urgency>Immediate</urgency>", b"<urgency>Now</urgency>", 1), "urgency is 'Now'"),
    "foreign element": (alert().replace(b"<scope>Public</scope>", b"<scope>Public</scope><x>1</x>"), "<x> is not"),
    "bad references": (alert(msg_type="Update", references="just-an-id"), "sender,identifier,sent"),
}


@needs_shared
@pytest.mark.parametrize("name", BROKEN)
def test_a_document_against_cap_1_2_is_refused_with_its_reason_as_the_schema_refuses_it(name: str) -> None:
    raw, reason = BROKEN[name]
    with pytest.raises(CapRefused) as refused:
        read(raw)
    assert reason in str(refused.value)
    if name not in ("not XML", "space in identifier", "bad references"):  # the standard's words, not the schema's
        assert not schema().is_valid(raw.decode())


def test_unsafe_or_oversized_documents_are_refused_before_anything_is_read() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><alert>&x;</alert>'
    with pytest.raises(CapRefused, match="DTD or entities"):
        read(bomb)
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>'
    with pytest.raises(CapRefused, match="DTD or entities"):
        read(xxe)
    with pytest.raises(CapRefused, match=f"at most {MAX_BYTES}"):
        read(b" " * (MAX_BYTES + 1))


@needs_shared
def test_our_sample_alert_is_valid_and_reads_back() -> None:
    raw = alert(etr="2026-12-02T17:00:00+03:30")
    assert schema().is_valid(raw.decode())
    got = read(raw)
    assert got.key == ("tavanir-2026-0001", "ops@tavanir.example", "2026-12-02T06:30:00+00:00")
    assert [(i.base_language, i.areas[0].desc, i.parameter("ETR")) for i in got.infos] == [
        ("fa", "شمال تهران", "2026-12-02T17:00:00+03:30"),
        ("en", "Tehran - North", "2026-12-02T17:00:00+03:30"),
    ]
