"""Routing in rounds: a burst is decided and committed round by round, and comes out as
routing one message at a time in order would (tickets, repeats, menus, STOP, replies)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config, parse
from gateway.conversation.keywords import load_catalogue
from gateway.inbound import routing
from gateway.inbound.routing import Routing
from gateway.runtime import WallFunction
from gateway.store import InboundItem, Store, stamp

A, B, C = "+989121111111", "+989122222222", "+989123333333"
BURST = [
    (A, "قطع ۴۸۲۱۳"),
    (B, "سلام"),  # the menu
    (A, "قطع ۴۸۲۱۳"),  # a repeat of A's first: merged, once that one is committed
    (B, "۱"),  # a menu choice: needs B's session from the message before
    (C, "STOP"),
    (B, "۵۵۱۲۰"),  # B's account: a ticket
    (A, "پیگیری"),  # STATUS: A's latest ticket
    (C, "قبض ۷۷۱۲۳"),
]


def _config() -> Config:
    return parse({"site": {"id": "12"}, "modems": [{"id": "m1", "port": "/dev/null"}]}, Path("gateway.toml"))


async def _route(tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / f"{name}.db"
    async with await Store.open(path, site="12") as store:
        items = [InboundItem("SM", i, f"PDU{i}", "sms", sender=p, text=t) for i, (p, t) in enumerate(BURST)]
        await store.add_inbound("m1", items)
        replies: list[None] = []
        await Routing(store, load_catalogue(), _config(), on_reply=lambda: replies.append(None)).route_waiting()
    return {**_rows(path, **QUERIES), "replies": len(replies)}


QUERIES = {
    "messages": "SELECT id, state, action, language, phone, ticket_id IS NOT NULL FROM messages ORDER BY id",
    "tickets": "SELECT ref, phone, code, account, repeat_count, message_id FROM tickets ORDER BY seq",
    "outbox": "SELECT phone, text, message_id FROM outbox ORDER BY id",
    "customers": "SELECT phone, language, opted_out, session_step, session_code FROM customers ORDER BY phone",
}


def _rows(path: Path, **queries: str) -> dict[str, list[tuple[Any, ...]]]:
    """What was committed, read as another process would."""
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        conn.close()


async def test_a_burst_routes_in_rounds_as_one_message_at_a_time_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_rounds = await _route(tmp_path, "rounds")
    monkeypatch.setattr(routing, "ROUND", 1)
    one_by_one = await _route(tmp_path, "single")
    assert in_rounds == one_by_one
    actions = [m[2] for m in in_rounds["messages"]]
    assert actions == ["ticket", "menu", "merge", "ask_account", "stop", "ticket", "status", "ticket"]
    assert [t[1] for t in in_rounds["tickets"]] == [A, B, C]  # refs in the order the messages came
    assert in_rounds["tickets"][0][4] == 1  # A's repeat counted on A's ticket
    assert in_rounds["replies"] == len(in_rounds["outbox"]) > 0


async def test_a_message_that_breaks_its_round_is_failed_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(catalogue: Any, name: str, language: str, values: dict[str, str]) -> str:
        if language == "en":  # C's STOP is in English
            raise ValueError("template broken")
        return "ok"

    monkeypatch.setattr(routing, "render_reply", broken)
    result = await _route(tmp_path, "broken")
    states = [m[1] for m in result["messages"]]
    assert states == ["done", "done", "done", "done", "failed", "done", "done", "done"]
    assert [t[1] for t in result["tickets"]] == [A, B, C]
    assert [c[2] for c in result["customers"]] == [0, 0, 0]  # C's STOP did not take: it is marked failed


async def test_routing_reads_the_time_from_its_clock(tmp_path: Path) -> None:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    clock = WallFunction(lambda: at)
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        await store.add_inbound("m1", [InboundItem("SM", 1, "P1", "sms", sender=A, text="قطع ۴۸۲۱۳")])
        await Routing(store, load_catalogue(), _config(), on_reply=lambda: None, clock=clock).route_waiting()
    sql = "SELECT customers.updated_at, outbox.created_at FROM customers, outbox WHERE outbox.phone = customers.phone"
    assert _rows(tmp_path / "gw.db", times=sql)["times"] == [
        (stamp(at), stamp(at))
    ]  # customer remembered, reply queued
