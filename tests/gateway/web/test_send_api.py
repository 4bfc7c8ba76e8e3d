"""``POST /api/v1/messages`` over real HTTP: another system's SMS queued as ``gateway send``
queues it, once per ``Idempotency-Key``, refused with a problem naming the field, and only for
the roles that may send; with the real daemon, the message reaches the emulated modem."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.config import Config
from gateway.exceptions import OptedOut
from gateway.outbound.operations import queue_sms
from gateway.store import Actor, OutboxRow, Store
from gateway.store.idempotency import Answer, Key
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import Api, serving

MESSAGES = "/api/v1/messages"
PERSIAN = "برق منطقه ۳ تا ساعت ۱۸ قطع است."


async def _outbox(api: Api) -> list[tuple[int, str, str, str]]:
    async with await Store.open(api.config.database_path, site="12") as store:
        return [(r.id, r.phone, r.lane, r.text) for r in await store.outbox(limit=100)]


async def test_a_message_is_queued_in_the_notification_lane_and_answered_202(api: Api) -> None:
    r = await api.send("POST", MESSAGES, role="integration", json={"to": "0912 111 2233", "text": "Power is back."})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["to"] == body["phone"] == "+989121112233"
    assert (body["lane"], body["status"], body["parts"], body["encoding"]) == ("notification", "queued", 1, "gsm7")
    assert body["text"] == "Power is back." and r.headers["location"] == f"/api/v1/outbox/{body['id']}"
    assert "idempotent-replayed" not in r.headers
    assert await _outbox(api) == [(body["id"], "+989121112233", "notification", "Power is back.")]
    persian = await api.send("POST", MESSAGES, role="admin", json={"to": "+98 912 111 2233", "text": PERSIAN})
    assert persian.status_code == 202 and persian.json()["encoding"] == "ucs2" and persian.json()["parts"] == 1
    async with await Store.open(api.config.database_path, site="12") as store:
        entries = [e for e in await store.audit_entries() if e.action == "message.queued"]
    assert [(e.actor, e.actor_kind, e.action, e.target, e.address) for e in entries] == [
        ("admin-token", "token", "message.queued", f"out-{persian.json()['id']}", "127.0.0.1"),
        ("integration-token", "token", "message.queued", f"out-{body['id']}", "127.0.0.1"),
    ]


async def test_a_retry_with_the_same_key_is_answered_as_the_first_and_queues_nothing(api: Api) -> None:
    ask = {"to": "09121112233", "text": "Your meter is read on Monday."}
    key = {"Idempotency-Key": "7f0c2a9e-5b1d-4c1e-9a57-3e2d0f6b8c11"}
    first = await api.send("POST", MESSAGES, role="integration", json=ask, headers=key)
    assert first.status_code == 202
    again = await api.send("POST", MESSAGES, role="integration", json=ask, headers=key)
    assert again.status_code == 202 and again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    # ten more at once, as a client that timed out and retried in a hurry: still the one row
    retries = await asyncio.gather(
        *(api.send("POST", MESSAGES, role="integration", json=ask, headers=key) for _ in range(10))
    )
    assert {r.json()["id"] for r in retries} == {first.json()["id"]}
    assert len(await _outbox(api)) == 1

    other = await api.send("POST", MESSAGES, role="integration", json={**ask, "text": "Another."}, headers=key)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["field"] == "Idempotency-Key" and "Idempotency-Key" in other.json()["detail"]
    # a key is its sender's: another token's same key is its own message
    theirs = await api.send("POST", MESSAGES, role="admin", json=ask, headers=key)
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
    # a fresh key for a new message
    fresh = await api.send("POST", MESSAGES, role="integration", json=ask, headers={"Idempotency-Key": "2"})
    assert fresh.status_code == 202 and len(await _outbox(api)) == 3
    async with await Store.open(api.config.database_path, site="12") as store:
        queued = [e for e in await store.audit_entries() if e.action == "message.queued"]
    assert len(queued) == 3  # a replay writes nothing, not even an audit entry
    assert json.loads(queued[-1].detail or "{}")["idempotency_key"] == key["Idempotency-Key"]


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "tab\there"])
async def test_a_key_that_cannot_be_one_is_refused_naming_the_header(api: Api, key: str) -> None:
    r = await api.send("POST", MESSAGES, role="integration", json={"to": "09121112233", "text": "hi"},
                       headers={"Idempotency-Key": key.encode()})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    assert await _outbox(api) == []


async def test_a_number_that_sent_stop_is_refused_with_a_clear_422(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        await store.opt_out("+989121112233", reason="STOP", actor="root")
    key = {"Idempotency-Key": "k-1"}
    r = await api.send("POST", MESSAGES, role="integration", json={"to": "۰۹۱۲۱۱۱۲۲۳۳", "text": "hi"}, headers=key)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "to" and "opted out" in r.json()["detail"] and "STOP" in r.json()["detail"]
    assert await _outbox(api) == []
    async with await Store.open(api.config.database_path, site="12") as store:
        assert await store.idempotency_keys() == 0  # refused: no key kept, a retry is tried again


async def test_what_cannot_be_sent_is_refused_naming_its_field(api: Api) -> None:
    cases = [
        ({"to": "12", "text": "hi"}, "to"),
        ({"to": "+442071234567", "text": "hi"}, "to"),  # not a mobile number of the site's region
        ({"to": "09121112233", "text": "  "}, "text"),
        ({"to": "09121112233", "text": "ق" * 5000}, "text"),  # more parts than a SIM may send in a minute
        ({"to": "09121112233"}, "text"),
        ({"to": 989121112233, "text": "hi"}, "to"),
        ({"to": "09121112233", "text": "hi", "from": "x"}, "from"),
    ]
    for ask, field in cases:
        r = await api.send("POST", MESSAGES, role="integration", json=ask)
        assert r.status_code == 422, (ask, r.text)
        assert r.json()["field"] == field and r.json()["detail"].startswith(field), (ask, r.json())
    assert await _outbox(api) == []


async def test_only_integration_and_admin_may_send_and_403_comes_before_the_body(api: Api) -> None:
    anonymous = await api.send("POST", MESSAGES, role=None, json={"to": "09121112233", "text": "hi"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    for role in ("agent", "supervisor"):
        for body in ({"to": "09121112233", "text": "hi"}, {"nonsense": True}):
            r = await api.send("POST", MESSAGES, role=role, json=body, headers={"Idempotency-Key": "x" * 300})
            assert r.status_code == 403, (role, r.text)
            assert "may not queue an SMS" in r.json()["detail"]
    for role in ("integration", "admin"):
        bad = await api.send("POST", MESSAGES, role=role, json={"nonsense": True})
        assert bad.status_code == 422
    assert await _outbox(api) == []


async def test_keys_are_kept_a_day_then_purged_by_later_sends(store: Store) -> None:
    day_one = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    actor = Actor("ivr", "token", "10.0.0.7")

    def answer(row: object) -> tuple[int, str]:
        return 202, "{}"

    first = await store.send_once("+989121112233", "a", actor=actor, answer=answer, key=Key("token:ivr", "a"),
                                  request="r", now=day_one)  # fmt: skip
    assert not first.replayed and await store.idempotency_keys() == 1
    later = day_one + timedelta(hours=23)
    again = await store.send_once("+989121112233", "a", actor=actor, answer=answer, key=Key("token:ivr", "a"),
                                  request="r", now=later)  # fmt: skip
    assert again.replayed and again.outbox_id == first.outbox_id
    async with await Store.open(store.path, site="12") as fresh:  # another process: its first send purges
        await fresh.send_once("+989121112233", "b", actor=actor, answer=answer, key=Key("token:ivr", "b"),
                              request="r", now=day_one + timedelta(hours=25))  # fmt: skip
        assert await fresh.kept_answer(Key("token:ivr", "a")) is None
        assert await fresh.kept_answer(Key("token:ivr", "b")) is not None


async def test_a_message_sent_through_the_api_reaches_the_modem_in_persian_and_english(harness: Harness) -> None:
    await harness.start()
    async with serving(harness.config) as api:
        key = {"Idempotency-Key": "outage-notice-1"}
        r = await api.send("POST", MESSAGES, role="integration", json={"to": "09121110001", "text": PERSIAN},
                           headers=key)  # fmt: skip
        assert r.status_code == 202, r.text
        retry = await api.send("POST", MESSAGES, role="integration", json={"to": "09121110001", "text": PERSIAN},
                               headers=key)  # fmt: skip
        assert retry.json()["id"] == r.json()["id"]
        english = await api.send("POST", MESSAGES, role="integration",
                                 json={"to": "+989121110002", "text": "Power is back in area 3."})  # fmt: skip
        assert english.status_code == 202
        persian_sms = await harness.reply_to("+989121110001", timeout=30)
        assert persian_sms.text == PERSIAN
        assert (await harness.reply_to("+989121110002", timeout=30)).text == "Power is back in area 3."

        async def sent() -> bool:  # the modem has it; the row says so a moment later
            status = await harness.sql(f"SELECT status FROM outbox WHERE id = {r.json()['id']}")
            return status in ([("sent",)], [("delivered",)])

        await eventually(sent, timeout=15)
    sent_to_first = [m for e in harness.emulators for m in e.sent if m.number == "+989121110001"]
    assert len(sent_to_first) == 1  # the retry queued nothing


async def test_sends_at_once_are_committed_together_each_key_queued_once(store: Store) -> None:
    await store.opt_out("+989121119999", reason="STOP", actor="root")
    actor = Actor("ivr", "token", "10.0.0.7")

    def answer(row: OutboxRow) -> tuple[int, str]:
        return 202, json.dumps({"id": row.id})

    async def send(n: int) -> object:
        phone = "+989121119999" if n == 7 else f"+98912111{n % 25:04d}"
        try:
            return await store.send_once(phone, f"notice {n % 25}", actor=actor, answer=answer,
                                         key=Key("token:ivr", f"k{n % 25}"), request="r")  # fmt: skip
        except OptedOut as exc:
            return exc

    answers = await asyncio.gather(*(send(n) for n in range(50)))
    refused = [a for a in answers if isinstance(a, OptedOut)]
    assert len(refused) == 1  # the 8th: its key's twin (n = 32) went to another number and was queued
    queued = [a for a in answers if isinstance(a, Answer)]
    by_key: dict[str, set[int | None]] = {}
    for n, a in enumerate(answers):
        if isinstance(a, Answer):
            by_key.setdefault(f"k{n % 25}", set()).add(a.outbox_id)
            assert json.loads(a.body) == {"id": a.outbox_id}
    assert all(len(ids) == 1 for ids in by_key.values()) and len(by_key) == 25
    assert sum(not a.replayed for a in queued) == 25 and len(await store.outbox(limit=100)) == 25


async def test_gateway_send_refuses_a_number_that_sent_stop_and_audits_what_it_queues(api_config: Config) -> None:
    async with await Store.open(api_config.database_path, site="12") as store:
        await store.opt_out("+989121112233", reason="STOP", actor="root")
    with pytest.raises(OptedOut, match="opted out"):
        await queue_sms(api_config, "09121112233", "hi", actor=Actor.local("sara"))
    row = await queue_sms(api_config, "09121112244", "hi", actor=Actor.local("sara"))
    assert (row.phone, row.lane, row.status) == ("+989121112244", "notification", "queued")
    async with await Store.open(api_config.database_path, site="12") as store:
        [entry] = [e for e in await store.audit_entries() if e.action == "message.queued"]
    assert (entry.actor, entry.actor_kind, entry.target) == ("sara", "local", f"out-{row.id}")
