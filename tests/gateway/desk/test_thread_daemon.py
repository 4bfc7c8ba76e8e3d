"""``gateway thread`` and ``gateway outbox show`` beside the real daemon on emulated modems: a
customer's conversation as it happened -- what they texted, how each text was routed, what
the modems were asked to send them and what the delivery reports said."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner, Result

from gateway.cli import main
from tests.gateway.harness import Harness, eventually

CUSTOMER = "+989121110001"


def _sent_to(h: Harness, number: str) -> list[tuple[str, str]]:
    return [(e.modem_id, m.text) for e in h.emulators for m in e.sent if m.number == number]


async def _cli(h: Harness, *args: str) -> Result:
    # the command runs its own event loop: in a thread, as a second process would beside the daemon
    return await asyncio.to_thread(CliRunner().invoke, main, [*args, "--db", str(h.database)])


async def _states(h: Harness) -> list[object]:
    return [s for (s,) in await h.sql("SELECT status FROM outbox ORDER BY id")]


async def test_a_customers_thread_shows_what_the_modems_sent_and_what_was_delivered(harness: Harness) -> None:
    for e in harness.emulators:
        e.delivery_reports([0x00])  # every part reported delivered
    await harness.start()
    harness.emu("m2").inject_sms(CUSTOMER, "سلام")  # no code: the menu
    await eventually(lambda: len(_sent_to(harness, CUSTOMER)) == 1, timeout=30)
    harness.emu("m2").inject_sms(CUSTOMER, "قطع ۴۸۲۱۳")
    await eventually(lambda: len(_sent_to(harness, CUSTOMER)) == 2, timeout=30)
    await eventually(lambda: _delivered(harness), timeout=30)
    (menu_sim, menu), (sim, registered) = _sent_to(harness, CUSTOMER)
    assert (menu_sim, sim) == ("m2", "m2") and "۱ قطعی" in menu
    assert registered == "درخواست «قطعی» با شماره ۱۲-۰۰۰۰۰۱ ثبت شد. خبرها را پیامک می‌کنیم."

    shown = json.loads((await _cli(harness, "thread", "0912 111 0001", "--json")).output)
    assert [(m["id"], m.get("routed"), m.get("status"), m["text"]) for m in shown["messages"]] == [
        ("in-1", "menu (not a code we know)", None, "سلام"),
        ("out-1", None, "delivered", menu),  # the text the modem was asked to send
        ("in-2", "opened 12-000001", None, "قطع ۴۸۲۱۳"),
        ("out-2", None, "delivered", registered),
    ]
    assert [m["modem"] for m in shown["messages"]] == ["m2"] * 4
    assert [t["ref"] for t in shown["tickets"]] == ["12-000001"]
    text = (await _cli(harness, "thread", "۰۹۱۲۱۱۱۰۰۰۱")).output
    assert f"out-2  to {CUSTOMER} via m2  [reply delivered (12-000001)]: {registered}" in text

    out = json.loads((await _cli(harness, "outbox", "show", "2", "--json")).output)
    assert (out["status"], out["modem_id"], out["attempts"], out["answers"], out["ticket"]) == (
        "delivered", "m2", 1, "in-2", "12-000001"
    )  # fmt: skip
    assert out["delivered_at"] is not None and out["sent_at"] is not None
    assert [(p["part"], p["modem"], p["status"], p["report"]) for p in out["sent_parts"]] == [(1, "m2", "delivered", 0)]
    printed = (await _cli(harness, "outbox", "show", "out-2")).output
    assert "status  delivered" in printed and "answers  in-2" in printed and "0x00" in printed


async def _delivered(h: Harness) -> bool:
    return await _states(h) == ["delivered", "delivered"]
