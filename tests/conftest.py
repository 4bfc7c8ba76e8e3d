"""Shared fixtures: real emulated modems on real pseudo-terminals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim_bank.emulator import ModemEmulator


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
