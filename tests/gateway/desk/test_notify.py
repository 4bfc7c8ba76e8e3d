"""``gateway tickets status --notify`` with the real daemon on emulated modems: the customer
gets the status's reply in their language and digits, from the SIM they texted."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from gateway.cli import main
from tests.gateway.harness import Harness, eventually


def _sent_to(h: Harness, number: str) -> list[tuple[str, str]]:
    return [(e.modem_id, m.text) for e in h.emulators for m in e.sent if m.number == number]


async def _cli(h: Harness, *args: str) -> Result:
    # the command runs its own event loop: in a thread, as a second process would beside the daemon
    return await asyncio.to_thread(CliRunner(env={"USER": "sara"}).invoke, main, [*args, "--db", str(h.database)])


async def test_a_resolved_ticket_is_texted_to_its_customer_from_the_sim_they_used(harness: Harness) -> None:
    persian, arabic = "+989121110001", "+9647701110002"
    await harness.start()
    harness.emu("m2").inject_sms(persian, "قطع ۴۸۲۱۳")
    await eventually(lambda: len(_sent_to(harness, persian)) == 1, timeout=30)
    harness.emu("m1").inject_sms(arabic, "انقطاع ٥٥٥٥٥")
    await eventually(lambda: len(_sent_to(harness, arabic)) == 1, timeout=30)

    out = await _cli(harness, "tickets", "status", "12-000001", "resolved", "--note", "cable replaced", "--notify")
    assert out.exit_code == 0, out.output
    words = "گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۱ رسیدگی شد. سپاس از صبوری شما."
    assert f"(fa, 1 SMS part, outbox #3): {words}" in out.output
    await eventually(lambda: len(_sent_to(harness, persian)) == 2, timeout=30)
    assert _sent_to(harness, persian)[1] == ("m2", words)

    out = await _cli(harness, "tickets", "status", "۱۲-۰۰۰۰۰۲", "in_progress", "--notify")
    assert out.exit_code == 0, out.output
    await eventually(lambda: len(_sent_to(harness, arabic)) == 2, timeout=30)
    assert _sent_to(harness, arabic)[1] == ("m1", "يجري العمل على بلاغ انقطاع رقم ١٢-٠٠٠٠٠٢.")

    shown = await _cli(harness, "tickets", "show", "12-000001")
    assert "sara  status open -> resolved (customer told: outbox #3): cable replaced" in shown.output
    assert f"out  #3 reply sent to {persian} via m2: {words}" in shown.output
    assert len(_sent_to(harness, persian)) == 2  # told once
