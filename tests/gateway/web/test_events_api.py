"""``GET /api/v1/events`` over real HTTP: the journal as Server-Sent Events, for any signed-in
role; from now on, or resumed after ``Last-Event-ID`` with none lost or repeated; a type
filter; one read of the journal per tick however many listen; streams end when the client
goes and at once when the server stops. With the real daemon: a customer's SMS is on the
stream within a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from gateway.config import Config
from gateway.store import Actor, Store
from gateway.web.events import POLL, Feed
from gateway.web.serve import bound_address, server_for
from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import Api, serving
from tests.gateway.web.seed import make_ticket
from tests.gateway.web.sse import Listener


async def _tickets(api: Api, *phones: str) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        for phone in phones:
            await make_ticket(store, phone, "قطع ۴۸۲۱۳")


async def _journal(config: Config) -> list[tuple[str, bytes]]:
    async with await Store.open(config.database_path, site="12") as store:
        return [(e.id, e.body()) for e in await store.events_after(0, limit=1000)]


async def test_the_stream_needs_a_sign_in_and_any_role_may_read_it(api: Api) -> None:
    anonymous = await api.client.get("/api/v1/events")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    forged = await api.client.get("/api/v1/events", headers={"Authorization": "Bearer gw_forged"})
    assert forged.status_code == 401
    for role in ("agent", "supervisor", "admin", "integration"):
        async with Listener(api.client, await api.token(role)) as listener:
            assert listener.response is not None and listener.response.headers["cache-control"] == "no-store"
    bad = await api.get("/api/v1/events", params={"types": "ticket.opened,ticket.closed"})
    assert bad.status_code == 422 and bad.json()["field"] == "types" and "ticket.closed" in bad.json()["detail"]
    unknown = await api.get("/api/v1/events", headers={"Last-Event-ID": "12-NOTANEVENT"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "Last-Event-ID"


async def test_new_events_only_each_as_its_webhook_body_and_the_type_filter_keeps_its_types(api: Api) -> None:
    await _tickets(api, "+989121110001")  # before anyone listens: not on the streams
    token = await api.token("integration")
    async with (
        Listener(api.client, token) as everything,
        Listener(api.client, token, params={"types": "ticket.opened"}) as opened,
    ):
        await _tickets(api, "+989121110002")
        await eventually(lambda: len(everything.events) == 2 and len(opened.events) == 1, timeout=5)
        journal = await _journal(api.config)
        assert [i for i, _ in journal[2:]] == everything.ids()  # the second ticket's two events, in order
        assert sorted(everything.types()) == ["message.received", "ticket.opened"]
        assert [r.encode() for r in everything.raw] == [
            body for _, body in journal[2:]
        ]  # webhook bodies, byte for byte
        [(event_id, kind, event)] = opened.events
        assert kind == event["type"] == "ticket.opened" and event["id"] == event_id
        assert set(event) == {"id", "type", "created_at", "data"}
        assert (event["data"]["ref"], event["data"]["phone"]) == ("12-000002", "+989121110002")


async def test_last_event_id_resumes_after_that_event_with_none_lost_or_repeated(api: Api) -> None:
    token = await api.token("agent")
    async with Listener(api.client, token) as first:
        await _tickets(api, "+989121110001", "+989121110002", "+989121110003")
        await eventually(lambda: len(first.events) >= 2, timeout=5)
    last = first.ids()[1]  # the client went away after two of the six
    await _tickets(api, "+989121110004")  # journalled while nobody listens
    async with Listener(api.client, token, last=last) as again:
        await _tickets(api, "+989121110005")  # journalled while it reads the backlog, or after
        await eventually(lambda: len(again.events) >= 8, timeout=5)
        await asyncio.sleep(POLL * 3)  # a few more ticks: nothing comes twice
        journal = [i for i, _ in await _journal(api.config)]
        assert again.ids() == journal[2:] and len(journal) == 10
    async with Listener(api.client, token, params={"types": "ticket.opened"}, last=journal[3]) as opened:
        await eventually(lambda: len(opened.events) >= 3, timeout=5)
        assert [e["data"]["ref"] for _, _, e in opened.events] == ["12-000003", "12-000004", "12-000005"]


async def test_a_stream_ends_once_its_token_is_revoked_and_keeps_quiet_ones_alive(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.access.tokens import revoke_token
    from gateway.web import events

    monkeypatch.setattr(events, "KEEP_ALIVE", 0.1)  # instead of 15 s and a minute: the rules, not the times
    monkeypatch.setattr(events, "RECHECK", 0.3)
    async with Listener(api.client, await api.token("integration", "ivr")) as listener:
        await eventually(lambda: listener.comments >= 3, timeout=5)  # the opening one, then keep-alives
        assert not listener.ended.is_set()
        await revoke_token(api.config, "ivr", actor=Actor.local("root"))
        await asyncio.wait_for(listener.ended.wait(), 5)


@asynccontextmanager
async def _server(config: Config) -> AsyncIterator[tuple[Api, FastAPI, asyncio.Task[None]]]:
    """As :func:`serving`, with a hand on the app (its feed) and the server's task."""
    server = server_for(config, listen="127.0.0.1:0")
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=15)
    host, port = bound_address(server)
    api = Api(config, f"http://{host}:{port}")
    try:
        yield api, server.config.app, task
    finally:
        await api.client.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def _feed(app: FastAPI) -> Feed:
    feed = app.state.event_feed
    assert isinstance(feed, Feed)
    return feed


async def test_fifty_streams_share_one_read_of_the_journal_per_tick(api_config: Config) -> None:
    async with _server(api_config) as (api, app, _):
        token = await api.token("agent")
        listeners = [Listener(api.client, token) for _ in range(50)]
        for listener in listeners:
            await listener.__aenter__()
        feed = _feed(app)
        assert len(feed.streams) == 50
        polls, began = feed.polls, time.monotonic()
        await _tickets(api, "+989121110001")
        await eventually(lambda: all(len(x.events) == 2 for x in listeners), timeout=5)
        await asyncio.sleep(POLL * 3)
        ticks = (time.monotonic() - began) / POLL
        assert feed.polls - polls <= ticks + 2  # one query per tick for all fifty, not fifty
        for listener in listeners[:30]:
            await listener.close()  # clients that go away leave the feed
        await eventually(lambda: len(feed.streams) == 20, timeout=5)
        for listener in listeners[30:]:
            await listener.close()


async def test_open_streams_end_at_once_when_the_server_stops(api_config: Config) -> None:
    async with _server(api_config) as (api, _, task):
        listeners = [Listener(api.client, await api.token("agent")) for _ in range(3)]
        for listener in listeners:
            await listener.__aenter__()
        # a second client that is not reading keeps a stream open too
        raw = httpx.AsyncClient(base_url=api.url)
        quiet = await raw.send(
            raw.build_request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {await api.token('admin')}"}),
            stream=True,
        )
        began = time.monotonic()
    stopped = time.monotonic() - began
    assert task.done() and stopped < 3.0, stopped  # not uvicorn's grace period (10 s)
    for listener in listeners:
        assert listener.ended.is_set()
        await listener.close()
    await quiet.aclose()
    await raw.aclose()


async def test_a_customer_s_sms_is_on_the_stream_within_a_second(harness: Harness) -> None:
    await harness.start()
    async with serving(harness.config) as api, Listener(api.client, await api.token("agent")) as listener:
        began = time.monotonic()
        harness.emu("m1").inject_sms("+989121110009", "قطع ۴۸۲۱۳")
        await eventually(lambda: {"ticket.opened", "message.received"} <= set(listener.types()), timeout=10)
        took = time.monotonic() - began
        journalled = await harness.sql("SELECT MIN(created_at) FROM events WHERE type = 'ticket.opened'")
        assert journalled[0][0] is not None
        opened = next(e for _, kind, e in listener.events if kind == "ticket.opened")
        received = next(e for _, kind, e in listener.events if kind == "message.received")
        assert (opened["data"]["phone"], opened["data"]["text"]) == ("+989121110009", "قطع ۴۸۲۱۳")
        assert received["data"]["ticket_id"] == opened["data"]["id"] and received["data"]["direction"] == "in"
        assert took < 1.0, took
