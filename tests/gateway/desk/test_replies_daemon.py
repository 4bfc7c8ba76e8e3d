"""``gateway tickets reply`` with the real daemon on emulated modems: the customer's SIM is asked
to send exactly the reply; another SIM sends it when the customer's is down; ``--force``."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from gateway.cli import main
from tests.gateway.harness import Harness, eventually


def _sent_to(h: Harness, number: str) -> list[tuple[str, str, int]]:
    return [(e.modem_id, m.text, m.parts) for e in h.emulators for m in e.sent if m.number == number]


def _sent(h: Harness, number: str, text: str) -> list[tuple[str, str, int]]:
    """Which modems were asked to send ``text`` to ``number`` (decoded, parts joined)."""
    return [m for m in _sent_to(h, number) if m[1] == text]


async def _start(h: Harness) -> None:
    """The daemon, once its SIM monitor has published both SIMs ready (what the CLI reads)."""
    await h.start()

    async def published() -> bool:
        await h.rounds("sim-monitor", 1)
        return await h.sql("SELECT DISTINCT state FROM sim_status") == [("ready",)]

    await eventually(published, timeout=15)


async def _cli(h: Harness, *args: str, user: str = "sara") -> Result:
    # the command runs its own event loop: in a thread, as a second process would beside the daemon
    return await asyncio.to_thread(CliRunner(env={"USER": user}).invoke, main, [*args, "--db", str(h.database)])


async def test_a_template_reply_reaches_a_persian_customer_from_the_sim_they_texted(harness: Harness) -> None:
    persian = "+989121110001"
    await _start(harness)
    harness.emu("m2").inject_sms(persian, "قطع ۴۸۲۱۳")
    await eventually(lambda: len(_sent_to(harness, persian)) == 1, timeout=30)

    out = await _cli(harness, "tickets", "reply", "12-000001", "--template", "restored", "--var", "area=منطقه 3")
    assert out.exit_code == 0, out.output
    words = "برق منطقه ۳ وصل شد. از صبوری شما سپاسگزاریم."
    for line in ("language  fa", "parts     1 SMS part (ucs2)", "SIM       m2 (the SIM the customer texted)"):
        assert line in out.output, (line, out.output)
    await eventually(lambda: len(_sent_to(harness, persian)) == 2, timeout=30)
    assert _sent(harness, persian, words) == [("m2", words, 1)]

    async def recorded_sent() -> bool:  # the modem has it; the row says so a moment later
        return await harness.sql("SELECT status FROM outbox WHERE id = 2") in ([("sent",)], [("delivered",)])

    await eventually(recorded_sent, timeout=15)
    shown = await _cli(harness, "tickets", "show", "12-000001")
    assert "sara  replied (outbox #2) with template restored" in shown.output
    assert f"out  #2 reply sent to {persian} via m2: {words}" in shown.output


async def test_another_sim_replies_when_the_customer_s_is_down(harness: Harness) -> None:
    customer = "+989121110002"
    await _start(harness)
    harness.emu("m1").inject_sms(customer, "قطع ۵۵۵۵۵")
    await eventually(lambda: len(_sent_to(harness, customer)) == 1, timeout=30)
    harness.emu("m1").unplug()

    async def published_down() -> bool:  # what the CLI reads: the daemon's SIM monitor said so
        return await harness.sql("SELECT state FROM sim_status WHERE modem_id = 'm1'") == [("down",)]

    await eventually(published_down, timeout=15)

    out = await _cli(harness, "tickets", "reply", "12-000001", "Crew on the way.", "--as", "reza")
    assert out.exit_code == 0, out.output
    assert "SIM       any healthy SIM (m1, the SIM the customer texted, is down)" in out.output
    await eventually(lambda: len(_sent_to(harness, customer)) == 2, timeout=30)
    assert _sent(harness, customer, "Crew on the way.") == [("m2", "Crew on the way.", 1)]
    shown = await _cli(harness, "tickets", "show", "12-000001")
    assert "reza  replied (outbox #2)" in shown.output
    assert f"out  #2 reply sent to {customer} via m2: Crew on the way." in shown.output


async def test_a_long_reply_goes_only_when_forced_and_then_whole(harness: Harness) -> None:
    customer = "+989121110003"
    await _start(harness)
    harness.emu("m2").inject_sms(customer, "قطع ۶۶۶۶۶")
    await eventually(lambda: len(_sent_to(harness, customer)) == 1, timeout=30)
    long = "گروه فنی در راه است. " * 5  # 105 characters: two UCS-2 parts

    refused = await _cli(harness, "tickets", "reply", "12-000001", long)
    assert refused.exit_code == 1 and "the reply is 2 SMS parts" in refused.output and "--force" in refused.output
    forced = await _cli(harness, "tickets", "reply", "12-000001", long, "--force")
    assert forced.exit_code == 0 and "parts     2 SMS parts (ucs2)" in forced.output
    # both parts on air (after the first, the handset holds half the text)
    await eventually(lambda: _sent(harness, customer, long.strip()) != [], timeout=30)
    assert _sent(harness, customer, long.strip()) == [("m2", long.strip(), 2)]  # one reply, joined on the handset
    assert len(_sent_to(harness, customer)) == 2  # the refused one never left
