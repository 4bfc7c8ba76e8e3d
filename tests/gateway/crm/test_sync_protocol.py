"""CRM sync protocol v1 on plain data: what each answer of the CRM does to a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.conversation.text import strip_controls
from gateway.crm import protocol as p

IDS = ["12-A", "12-B", "12-C"]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_signature_matches_an_independent_hmac() -> None:
    # openssl: printf '1700000000.{"site":"12"}' | openssl dgst -sha256 -hmac s3cret
    expected = "sha256=5dd9d1073d9ad01dc7864846b3b11344ab7546a305096178e012df573479511f"
    assert p.signature("s3cret", "1700000000", b'{"site":"12"}') == expected


def test_verify_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp() -> None:
    body = p.push_body("12", "12-X", [{"id": "12-A", "text": "قطع ۴۸۲۱۳"}])
    headers = p.request_headers(token="t", secret="s", body=body, now=1_700_000_000, batch_id="12-X")
    ts, sig = headers[p.TIMESTAMP_HEADER], headers[p.SIGNATURE_HEADER]
    assert headers["Authorization"] == "Bearer t" and headers[p.IDEMPOTENCY_HEADER] == "12-X"
    assert p.verify("s", ts, body, sig, now=1_700_000_010)
    tampered = body.replace("۴۸۲۱۳".encode(), "۴۸۲۱۴".encode())
    assert tampered != body and not p.verify("s", ts, tampered, sig, now=1_700_000_010)
    assert not p.verify("other", ts, body, sig, now=1_700_000_010)
    assert not p.verify("s", ts, body, sig, now=1_700_000_000 + 3600)  # a replay an hour later
    assert not p.verify("s", "not-a-number", body, sig, now=1_700_000_000)


def test_body_keeps_persian_as_text() -> None:
    body = p.push_body("12", "12-X", [{"id": "12-A", "text": "قطع"}])
    assert "قطع".encode() in body and json.loads(body)["batch_id"] == "12-X"


def test_no_secret_no_signature_no_token_no_authorization() -> None:
    headers = p.request_headers(token="", secret="", body=b"{}", now=1.0)
    assert p.SIGNATURE_HEADER not in headers and "Authorization" not in headers


def test_2xx_with_an_empty_body_means_all_accepted() -> None:
    answer = p.read_push_answer(200, b"", {}, IDS)
    assert answer.kind == "results" and [(r.id, r.status) for r in answer.results] == [(i, "accepted") for i in IDS]


def test_results_are_read_per_ticket_and_unmentioned_ones_stay_queued() -> None:
    body = json.dumps(
        {
            "results": [
                {"id": "12-B", "status": "rejected", "error": "unknown account"},
                {"id": "12-A", "status": "duplicate", "crm_id": 77},
                {"id": "12-Z", "status": "accepted"},  # not in this batch: ignored
                {"id": "12-C", "status": "maybe"},  # not a status: as if unmentioned
            ]
        }
    ).encode()
    answer = p.read_push_answer(201, body, {}, IDS)
    assert [(r.id, r.status, r.crm_id, r.error) for r in answer.results] == [
        ("12-A", "duplicate", "77", None),
        ("12-B", "rejected", None, "unknown account"),
    ]
    assert answer.unmentioned == ("12-C",)


def test_a_web_page_with_200_is_not_an_acknowledgement() -> None:
    answer = p.read_push_answer(200, b"<html>Please log in to the Wi-Fi</html>", {}, IDS)
    assert answer.kind == "retry" and "not JSON" in answer.reason


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_temporary_failures_retry_the_same_batch(status: int) -> None:
    assert p.read_push_answer(status, b"busy", {}, IDS).kind == "retry"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert p.read_push_answer(429, b"", {"retry-after": "120"}, IDS).retry_after == 120.0
    answer = p.read_push_answer(503, b"", {"retry-after": "Mon, 23 Nov 2026 12:05:00 GMT"}, IDS, now=NOW)
    assert answer.retry_after == 300.0
    assert p.retry_after_seconds("soon", NOW) is None


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_refused_batch_is_split(status: int) -> None:
    answer = p.read_push_answer(status, b'{"error": "ticket 12-B: bad phone"}', {}, IDS)
    assert answer.kind == "split" and f"HTTP {status}" in answer.reason and "bad phone" in answer.reason


@pytest.mark.parametrize("status", [301, 401, 403, 404, 405])
def test_a_wrong_url_or_token_rejects_no_ticket(status: int) -> None:
    answer = p.read_push_answer(status, b"", {}, IDS)
    assert answer.kind == "retry" and "check [crm] url and token" in answer.reason


def test_updates_page_skips_bad_entries_and_keeps_the_cursor() -> None:
    body = json.dumps(
        {
            "updates": [
                {"id": "12-A", "status": "resolved", "notify": True, "message": {"fa": "وصل شد", "en": ""}},
                {"id": "12-B"},
                "nonsense",
                {"id": "12-C", "status": "in_progress", "notify": "yes"},
            ],
            "cursor": 42,
        }
    ).encode()
    page = p.read_updates(body)
    assert page.cursor == "42" and page.skipped == 2
    assert [(u.id, u.status, u.notify, dict(u.message)) for u in page.updates] == [
        ("12-A", "resolved", True, {"fa": "وصل شد"}),
        ("12-C", "in_progress", False, {}),  # notify must be true, not truthy
    ]


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"updates": 5}', b'{"updates": [], "cursor": [1]}'])
def test_an_unreadable_updates_page_is_an_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        p.read_updates(body)


@given(st.integers(100, 599), st.binary(max_size=300), st.dictionaries(st.text(max_size=12), st.text(max_size=40)))
@settings(max_examples=400)
def test_no_answer_makes_the_reader_raise(status: int, body: bytes, headers: dict[str, str]) -> None:
    answer = p.read_push_answer(status, body, headers, IDS)
    assert answer.kind in ("results", "retry", "split")
    assert all(r.id in IDS for r in answer.results)


FORBIDDEN = {*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)), *"\u202a\u202b\u202c\u202d\u202e"}
FORBIDDEN |= {*"\u2066\u2067\u2068\u2069"}
FORBIDDEN -= {"\n"}


@given(st.text(alphabet=st.sampled_from([*FORBIDDEN, "\n", "\r", "\t", "a", "ب", "\u200c", "\u200f", "۴", " "])))
@settings(max_examples=300)
def test_crm_text_for_a_customer_keeps_no_control_character_or_bidi_override(text: str) -> None:
    page = p.read_updates(json.dumps({"updates": [{"id": "12-A", "status": "resolved", "note": text,
                                                    "message": {"fa": text}}], "cursor": "1"}).encode())  # fmt: skip
    [update] = page.updates
    sent = update.message.get("fa", "")
    assert not FORBIDDEN & set(sent) and not FORBIDDEN & set(update.note or "")
    kept = [c for c in text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ") if c not in FORBIDDEN]
    assert sent == "".join(kept).strip()  # letters, digits, ZWNJ, RLM and newlines are untouched
    assert strip_controls(strip_controls(text)) == strip_controls(text)
