"""Running the daemon on emulated modems: the same code path, ptys instead of USB serial ports."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from gateway.config import Config
from gateway.lockfile import refuse_if_running
from gateway.operations import control_socket
from sim_bank.simulator import EmulatorBank


def simulated_config(config: Config, bank: EmulatorBank, **modem_overrides: Any) -> Config:
    """``config`` with its ``[[modems]]`` replaced by the emulated bank's ptys."""
    overrides = {"sweep_interval": config.receive.sweep_interval, "send_timeout": config.send.send_timeout}
    overrides.update(modem_overrides)
    return config.with_modems(bank.modem_configs(**overrides))


def start_simulated_bank(config: Config, count: int, send_latency: float = 0.0) -> tuple[EmulatorBank, Path]:
    """Start ``count`` emulated modems and their control socket (for ``gateway simulate``).
    Refused, touching nothing, when a daemon already serves the database: the socket is its."""
    refuse_if_running(config.database_path)
    directory = Path(tempfile.mkdtemp(prefix="gateway-sim-"))
    bank = EmulatorBank(count, directory, send_latency=send_latency).start()
    socket_path = control_socket(config.database_path)
    socket_path.parent.mkdir(parents=True, exist_ok=True)  # `run` may create the database's folder
    bank.serve(socket_path)
    return bank, socket_path
