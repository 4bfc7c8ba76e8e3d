"""A long SMS whose last part never comes is answered after [receive] concat_timeout measured
on the monotonic clock: a wall clock stepped back or forward changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from gateway.runtime import Intervals, SteppedClock
from sim_bank import pdu
from tests.gateway.harness import Harness, eventually

LONG = "1 48213 " + "the whole street has had no power since last night and the water pump is off " * 3
SENDER = "+447700900123"


def _all_but_last_part(clock: SteppedClock) -> list[str]:
    parts = pdu.encode_deliver(SENDER, LONG, timestamp=clock.wall(), concat_ref=77)
    assert len(parts) >= 2
    return parts[:-1]


@pytest.mark.parametrize("step", [-3600.0, 3600.0], ids=["wall clock back 1 h", "wall clock forward 1 h"])
async def test_a_long_sms_missing_a_part_is_answered_after_concat_timeout_whatever_the_wall_clock_does(
    harness: Harness, step: float
) -> None:
    clock = SteppedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    harness.configure(receive=dataclasses.replace(harness.config.receive, concat_timeout=30.0))
    look_often = {"housekeeping": Intervals(idle=0.02)}  # the window is on the clock, not in these rounds
    daemon = await harness.start(clock=clock, intervals=look_often)
    harness.emu("m1").inject_pdus(_all_but_last_part(clock))
    await eventually(lambda: harness.emu("m1").stored() == {})  # stored, deleted from the SIM, waiting
    clock.step(step)  # an NTP correction while we wait for the last part
    housekeeping = daemon.runtime.loops["housekeeping"]
    rounds = housekeeping.rounds
    await eventually(lambda: housekeeping.rounds >= rounds + 10)  # a step forward must not release it early
    assert harness.emu("m1").sent == [] and await harness.store.tickets() == []

    clock.advance(31)  # the window has passed on the monotonic clock: a step back must not hold it
    reply = await harness.reply_to(SENDER, timeout=10)
    assert reply.text.startswith("Thank you")
    [ticket] = await harness.store.tickets()
    assert ticket.account == "48213" and ticket.text.startswith("1 48213 the whole street")
