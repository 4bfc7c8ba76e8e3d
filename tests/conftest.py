"""Shared fixtures: real emulated modems on real pseudo-terminals."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from sim_bank.emulator import ModemEmulator

# A shell runs a background job (`cmd &`) with SIGINT ignored, and an ignored signal stays
# ignored across exec: the CLI processes the tests start would never see the Ctrl-C they send
# (`--follow`, `broadcast --wait`). Tests stand in for a person at a terminal: take SIGINT back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def emulator() -> Iterator[ModemEmulator]:
    emu = ModemEmulator("m1", own_number="+989120000001").start()
    yield emu
    emu.stop()


@pytest.fixture
def emulators() -> Iterator[list[ModemEmulator]]:
    emus = [ModemEmulator(f"m{i}", own_number=f"+98912000000{i}").start() for i in (1, 2)]
    yield emus
    for e in emus:
        e.stop()
