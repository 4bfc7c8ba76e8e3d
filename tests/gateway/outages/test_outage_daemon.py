"""Outages with the real daemon on emulated modems: declared for North, a customer in North
texts ``1 48213`` and hears the outage's ETR in Persian digits, STATUS gives it again, an ETR
update reaches the contacts and the reporter once each, restore with the check resolves the
linked ticket, and a ``1`` afterwards opens a linked still-out ticket."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.conversation.text import localise_digits
from gateway.outages import show_outage
from gateway.store import Store
from tests.gateway.harness import Harness, eventually

NORTH_FA = "+989121110010"
NORTH_EN = "+447700900010"
SOUTH_FA = "+989121110012"
REPORTER = "+989121110020"  # not a contact: account 48213 is North by the [areas] rule


def received(h: Harness) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in h.emulators:
        for m in e.sent:
            out.setdefault(m.number, []).append(m.text)
    return out


async def cli(h: Harness, *args: str, user: str = "sara") -> Result:
    # its own event loop in a thread, as a second process beside the daemon
    return await asyncio.to_thread(CliRunner(env={"USER": user}).invoke, main, [*args, "--db", str(h.database)])


async def _contacts(h: Harness, tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(
        f"phone,name,language,area,account\n{NORTH_FA},A,fa,North,11111\n{NORTH_EN},B,en,North,22222\n"
        f"{SOUTH_FA},C,fa,South,33333\n",
        encoding="utf-8",
    )
    out = await cli(h, "contacts", "import", str(csv), "--group", "all")
    assert out.exit_code == 0, out.output


async def _outage(h: Harness) -> dict[str, Any]:
    """Outage 1 as ``gateway outage show --json`` shows it (read as a second process would: the
    daemon's logs go to the stdout a CLI run in this process would capture)."""
    async with await Store.open(h.database, site="12") as store:
        return await show_outage(store, h.config, 1)


def _tomorrow(h: Harness, clock: str) -> tuple[str, str]:
    """A local time tomorrow as the operator types it, and as a Persian reader reads it."""
    tz = ZoneInfo(h.config.site.timezone)
    day = (datetime.now(tz) + timedelta(days=1)).date()
    j = jdatetime.date.fromgregorian(date=day)
    return f"{day:%Y-%m-%d} {clock}", localise_digits(f"{j.month:02d}/{j.day:02d} {clock}", "fa")


async def test_an_outage_from_declaration_to_the_still_out_report(harness: Harness, tmp_path: Path) -> None:
    harness.configure(areas={"North": ("48",)})
    await harness.start()
    await _contacts(harness, tmp_path)
    eta, eta_fa = _tomorrow(harness, "18:00")

    declared = await cli(harness, "outage", "declare", "--area", "North", "--cause", "cable cut", "--eta", eta,
                         "--notify", "--yes")  # fmt: skip
    assert declared.exit_code == 0, declared.output
    outage = await _outage(harness)
    assert (outage["id"], outage["status"], outage["areas"], outage["eta_local"]) == (1, "active", ["North"], eta)
    await eventually(lambda: NORTH_FA in received(harness) and NORTH_EN in received(harness), timeout=30)
    assert received(harness)[NORTH_FA] == [f"قطعی برق در North. وصل تا حدود ساعت {eta_fa}. پوزش می‌خواهیم."]
    assert SOUTH_FA not in received(harness)  # another area

    # a customer in North reports: linked, told the ETR in Persian digits and calendar
    harness.emu("m1").inject_sms(REPORTER, "۱ ۴۸۲۱۳")
    reply = await harness.reply_to(REPORTER, timeout=30)
    assert eta_fa in reply.text and "۱۲-۰۰۰۰۰۱" in reply.text and "پیوست" in reply.text, reply.text
    assert reply.parts == 1  # the ETR with its date, and still one SMS part
    assert await harness.sql("SELECT outage_id, kind FROM outage_reports") == [(1, "linked")]

    # STATUS on that ticket answers with the outage's current ETR
    harness.emu("m1").inject_sms(REPORTER, "۴")
    await eventually(lambda: len(received(harness).get(REPORTER, [])) == 2, timeout=30)
    status = [t for t in received(harness)[REPORTER] if t.startswith("درخواست")]
    assert len(status) == 1 and eta_fa in status[0] and "قطعی North" in status[0], status

    # a staged update: the contacts and the reporter, once each
    later, later_fa = _tomorrow(harness, "21:00")
    updated = await cli(harness, "outage", "update", "1", "--eta", later, "--note", "transformer", "--notify", "--yes")
    assert updated.exit_code == 0, updated.output
    update_fa = f"قطعی North ادامه دارد. وصل مجدد تا حدود ساعت {later_fa}."
    await eventually(lambda: update_fa in received(harness).get(REPORTER, []), timeout=30)
    await eventually(lambda: len(received(harness).get(NORTH_EN, [])) == 2, timeout=30)
    got = received(harness)
    assert got[NORTH_FA].count(update_fa) == 1 and got[REPORTER].count(update_fa) == 1
    assert any(t.startswith("The outage in North continues.") for t in got[NORTH_EN]) and SOUTH_FA not in got

    # restored with the check: the linked ticket resolved; the check follows (fa does not fit in one part)
    restored = await cli(harness, "outage", "restore", "1", "--check", "--yes")
    assert restored.exit_code == 0, restored.output
    back_fa, check_fa = "برق North وصل شد. از صبوری شما سپاسگزاریم.", "اگر هنوز برق ندارید ۱ بفرستید."
    for phone, count in ((REPORTER, 5), (NORTH_FA, 4), (NORTH_EN, 4)):
        await eventually(lambda p=phone, n=count: len(received(harness).get(p, [])) == n, timeout=30)  # type: ignore[misc]
    got = received(harness)
    for phone, back, check in ((REPORTER, back_fa, check_fa), (NORTH_FA, back_fa, check_fa),
                               (NORTH_EN, "Power is back in North. Thank you for your patience.",
                                "Reply 1 if you still have no power.")):  # fmt: skip
        assert (got[phone].count(back), got[phone].count(check)) == (1, 1), (phone, got[phone])
    assert await harness.sql("SELECT status FROM tickets WHERE ref = '12-000001'") == [("resolved",)]
    assert await harness.sql("SELECT actor, new_value FROM ticket_history") == [("sara", "resolved")]

    # a 1 from one who was asked: a new ticket, linked as still out
    async def all_sent() -> bool:
        rows = await harness.sql("SELECT COUNT(*) FROM outbox WHERE phone = '+989121110020' AND status = 'queued'")
        return rows == [(0,)]

    await eventually(all_sent, timeout=30)
    before = len(received(harness)[REPORTER])
    harness.emu("m2").inject_sms(REPORTER, "1")
    await eventually(lambda: len(received(harness)[REPORTER]) == before + 1, timeout=30)
    assert received(harness)[REPORTER][-1] == "گزارش ۱۲-۰۰۰۰۰۲ ثبت شد: هنوز برق ندارید. به تعمیرکاران خبر دادیم."
    found = await _outage(harness)
    assert (found["status"], found["reports"], found["still_out"]) == ("restored", 1, 1)
    assert [(r["ref"], r["kind"], r["status"]) for r in found["tickets"]] == [
        ("12-000001", "linked", "resolved"),
        ("12-000002", "still_out", "open"),
    ]
    assert [e["eta_local"] for e in found["etr_history"]] == [eta, later]
    assert [s["kind"] for s in found["stages"]] == ["declared", "update", "restored"]
