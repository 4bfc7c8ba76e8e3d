"""Running the daemon on emulated modems: the same code path, ptys instead of USB serial ports;
and acting as customers towards it (``gateway simulate``) through its control socket."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from gateway.config import Config
from gateway.exceptions import NotFound, SimulatorUnavailable, Wording
from gateway.lockfile import refuse_if_running
from sim_bank.simulator import EmulatorBank

SOCKET_MAX = 100  # Unix socket paths are limited to ~108 bytes


def simulated_config(config: Config, bank: EmulatorBank, sweep_interval: float | None = None, **policy: Any) -> Config:
    """``config`` with its ``[[modems]]`` replaced by the emulated bank's ptys, their SIMs with
    the default policy and ``policy``'s settings (``per_minute=30``)."""
    modems = bank.modem_configs(
        sweep_interval=config.receive.sweep_interval if sweep_interval is None else sweep_interval,
        send_timeout=config.send.send_timeout,
    )
    return dataclasses.replace(config, sims={}).with_modems(modems, **policy)


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


def control_socket(database: Path) -> Path:
    """Where ``gateway run --simulate`` listens for ``gateway simulate``: beside the database,
    or under /tmp when that path would be too long for a Unix socket."""
    import hashlib
    import tempfile

    path = database.resolve().with_name(database.name + ".sim.sock")
    if len(str(path)) <= SOCKET_MAX:
        return path
    digest = hashlib.sha1(str(database.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"gateway-sim-{digest}.sock"


def simulate_sms(config: Config, sender: str, text: str, modem: str | None) -> dict[str, Any]:
    """Text the running simulated SIM bank as a customer would."""
    from sim_bank import simulator

    try:
        return simulator.request(
            control_socket(config.database_path), {"op": "sms", "from": sender, "text": text, "modem": modem}
        )
    except simulator.SimulatorError as exc:
        raise SimulatorUnavailable(Wording(
            "{problem}. Start one with `gateway run --simulate 4` (the same {choose_database} as this command)",
            {"problem": str(exc), "choose_database": "database"},
        )) from None  # fmt: skip


def simulated_sent(config: Config, modem: str | None) -> list[dict[str, Any]]:
    """What the simulated modems (or ``modem``, which must be one of them) were asked to send."""
    from sim_bank import simulator

    socket_path = control_socket(config.database_path)
    try:
        if modem is not None:
            known = [str(m["id"]) for m in simulator.request(socket_path, {"op": "modems"})["modems"]]
            if modem not in known:
                raise NotFound(f"no simulated modem {modem!r} (have {', '.join(known)})")
        answer = simulator.request(socket_path, {"op": "sent", "modem": modem})
    except simulator.SimulatorError as exc:
        raise SimulatorUnavailable(f"{exc}. Is `gateway run --simulate N` running?") from None
    return list(answer["messages"])
