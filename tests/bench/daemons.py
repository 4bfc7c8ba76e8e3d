"""The three SMS daemons the benchmarks compare, each driven the way its users drive it.

* ours: ``gateway run -c gateway.toml``; messages go into its SQLite outbox (one
  transaction, as ``gateway send`` rows), replies come from its own conversation.
* gammu-smsd (files backend): one process per modem, as gammu-smsd works;
  messages are ``OUTC...txt`` files, shared round robin over the instances' outboxes.
* smstools (smsd): one process for all modems (it forks one child per device);
  messages are files in its ``outgoing`` spool.

Each writes its configuration under a directory the benchmark owns and gives it
back as text (:meth:`configs`), so the report can show exactly what ran. Settings
are the tuned ones of ``../shared/notes/peers.md``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

from gateway.store import LANES, stamp
from sim_bank.pdu import count_parts

from . import procs

GAMMU_SMSD = "gammu-smsd"
SMSD = "smsd"


class SmsDaemon(Protocol):
    name: str
    ready_prefix: str  # a command every modem sees once the daemon is set up and looping

    def start(self, links: list[Path]) -> None: ...

    def enqueue(self, messages: list[tuple[str, str]]) -> None: ...

    def cpu_seconds(self) -> float: ...

    def stop(self) -> None: ...

    def configs(self) -> dict[str, str]: ...


# ---------------------------------------------------------------- ours


class Ours:
    name = "ours"
    ready_prefix = "AT+CNMI"

    def __init__(self, directory: Path, *, sweep_interval: float = 60.0, health_interval: float = 600.0) -> None:
        self.directory = directory
        self.database = directory / "gateway.db"
        self.config_path = directory / "gateway.toml"
        self.sweep_interval = sweep_interval
        self.health_interval = health_interval
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, links: list[Path]) -> None:
        self.config_path.write_text(self._config(links))
        command = [sys.executable, "-m", "gateway.cli", "run", "-c", str(self.config_path)]
        self._proc = procs.spawn(command, self.directory / "daemon.log", env={**os.environ, "PYTHONHASHSEED": "0"})

    def _config(self, links: list[Path]) -> str:
        modems = "".join(
            f'\n[[modems]]\nid = "m{i}"\nport = "{link}"\nnumber = "+9891200{i:05d}"\nper_minute = 1000000\n'
            f"per_day = 1000000000\nsweep_interval = {self.sweep_interval}\nhealth_interval = {self.health_interval}\n"
            for i, link in enumerate(links, start=1)
        )
        return (
            f'[site]\nid = "9"\n\n[storage]\ndatabase = "{self.database}"\n\n[logging]\nlevel = "warning"\n'
            f'format = "json"\n\n[quotas]\nper_minute = 1000000\nper_day = 1000000000\n{modems}'
        )

    def enqueue(self, messages: list[tuple[str, str]]) -> None:
        """What ``gateway send`` writes, all rows in one transaction (the daemon notices within 0.25 s)."""
        at = stamp()
        rows = [(n, t, "notification", LANES["notification"], count_parts(t), at) for n, t in messages]
        conn = sqlite3.connect(self.database, timeout=60)
        try:
            with conn:
                conn.executemany(
                    "INSERT INTO outbox (phone, text, lane, priority, parts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        return procs.tree_cpu_seconds(self._proc.pid) if self._proc else 0.0

    def stop(self) -> None:
        if self._proc is not None:
            procs.stop(self._proc, timeout=30)
            self._proc = None

    def configs(self) -> dict[str, str]:
        return {"gateway.toml": self.config_path.read_text()} if self.config_path.exists() else {}


# ---------------------------------------------------------------- gammu-smsd

GAMMU_TUNED = {
    "commtimeout": "1",
    "statusfrequency": "0",
    "checksignal": "0",
    "checknetwork": "0",
    "checkbattery": "0",
    "checksecurity": "0",
    "loopsleep": "0",
    "receivefrequency": "1",
}


class GammuSmsd:
    name = "gammu-smsd"
    ready_prefix = 'AT+CPMS="SM","SM"'  # its main loop's first receive check

    def __init__(self, directory: Path, *, run_on_receive: Path | None = None) -> None:
        self.directory = directory
        self.run_on_receive = run_on_receive
        self._procs: list[subprocess.Popen[bytes]] = []
        self._outboxes: list[Path] = []
        self._serial = 0

    def start(self, links: list[Path]) -> None:
        for i, link in enumerate(links, start=1):
            home = self.directory / f"gammu{i}"
            for sub in ("inbox", "outbox", "sent", "error", "tmp"):
                (home / sub).mkdir(parents=True, exist_ok=True)
            config = home / "smsdrc"
            config.write_text(self._config(link, home))
            self._outboxes.append(home / "outbox")
            self._procs.append(procs.spawn([GAMMU_SMSD, "-c", str(config)], home / "stdout.log"))

    def _config(self, link: Path, home: Path) -> str:
        tuned = "".join(f"{k} = {v}\n" for k, v in GAMMU_TUNED.items())
        hook = f"runonreceive = {self.run_on_receive} {home / 'outbox'}\n" if self.run_on_receive else ""
        return (
            f"[gammu]\ndevice = {link}\nconnection = at\n\n[smsd]\nservice = files\n"
            f"inboxpath = {home / 'inbox'}/\noutboxpath = {home / 'outbox'}/\nsentsmspath = {home / 'sent'}/\n"
            f"errorsmspath = {home / 'error'}/\nlogfile = {home / 'smsd.log'}\ndebuglevel = 0\n{tuned}{hook}"
        )

    def enqueue(self, messages: list[tuple[str, str]]) -> None:
        """``OUTC<date>_<time>_<serial>_<number>_bench.txt`` files, dealt round robin to the instances."""
        now = datetime.now().strftime("%Y%m%d_%H%M%S")
        for i, (number, text) in enumerate(messages):
            outbox = self._outboxes[i % len(self._outboxes)]
            self._serial += 1
            tmp = outbox.parent / "tmp" / f"{self._serial}.txt"
            tmp.write_text(text)
            tmp.rename(outbox / f"OUTC{now}_{self._serial:06d}_{number}_bench.txt")

    def cpu_seconds(self) -> float:
        return sum(procs.tree_cpu_seconds(p.pid) for p in self._procs)

    def stop(self) -> None:
        procs_, self._procs = self._procs, []
        for proc in procs_:
            procs.stop(proc)

    def configs(self) -> dict[str, str]:
        first = self.directory / "gammu1" / "smsdrc"
        out = {"smsdrc (one per modem; m1's)": first.read_text()} if first.exists() else {}
        if self.run_on_receive is not None:
            out[self.run_on_receive.name] = self.run_on_receive.read_text()
        return out


def gammu_reply_hook(path: Path, text: str) -> Path:
    """A RunOnReceive script that answers each received file with ``text``: an outbox file to its sender."""
    path.write_text(
        "#!/bin/sh\n"
        "# gammu-smsd RunOnReceive: $1 = outbox dir (ours), then the received files IN<date>_<time>_<serial>_"
        "<sender>_<seq>.txt\n"
        'outbox="$1"; shift\n'
        'for f in "$@"; do\n'
        '  sender=$(basename "$f" | cut -d_ -f4)\n'
        '  tmp="$outbox/../tmp/reply-$$-$(basename "$f")"\n'
        f"  printf '%s' '{text}' > \"$tmp\"\n"
        '  mv "$tmp" "$outbox/OUTA$(date +%Y%m%d_%H%M%S)_00_${sender}_reply.txt"\n'
        "done\n"
    )
    path.chmod(0o755)
    return path


# ---------------------------------------------------------------- smstools

SMSTOOLS_GLOBAL = {
    "delaytime": "1",
    "delaytime_mainprocess": "1",
    "trust_outgoing": "yes",
    "ignore_outgoing_priority": "yes",
    "receive_before_send": "no",
}
SMSTOOLS_MODEM = {
    "incoming": "yes",
    "check_network": "2",
    "poll_faster": "20",
    "detect_unexpected_input": "no",
    "detect_message_routing": "no",
}


class Smstools:
    name = "smstools"
    ready_prefix = "AT+CPMS?"  # its receive check, once a modem process is set up

    def __init__(self, directory: Path, *, eventhandler: Path | None = None) -> None:
        self.directory = directory
        self.eventhandler = eventhandler
        self.config_path = directory / "smsd.conf"
        self.spool = directory / "spool"
        self._proc: subprocess.Popen[bytes] | None = None
        self._serial = 0

    def start(self, links: list[Path]) -> None:
        for sub in ("outgoing", "checked", "failed", "incoming", "sent", "tmp"):
            (self.spool / sub).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._config(links))
        self._proc = procs.spawn([SMSD, "-t", "-c", str(self.config_path)], self.directory / "stdout.log")

    def _config(self, links: list[Path]) -> str:
        names = [f"GSM{i}" for i in range(1, len(links) + 1)]
        spool = "".join(f"{d} = {self.spool / d}\n" for d in ("outgoing", "checked", "failed", "incoming", "sent"))
        files = "".join(f"{k} = {self.directory / v}\n" for k, v in
                        (("logfile", "smsd.log"), ("infofile", "smsd.working"), ("pidfile", "smsd.pid")))  # fmt: skip
        tuned = "".join(f"{k} = {v}\n" for k, v in SMSTOOLS_GLOBAL.items())
        hook = f"eventhandler = {self.eventhandler}\n" if self.eventhandler else ""
        modem = "".join(f"{k} = {v}\n" for k, v in SMSTOOLS_MODEM.items())
        devices = "".join(f"\n[{n}]\ndevice = {link}\n{modem}" for n, link in zip(names, links, strict=True))
        return f"devices = {','.join(names)}\n{spool}{files}{tuned}{hook}{devices}"

    def enqueue(self, messages: list[tuple[str, str]]) -> None:
        """Files ``To: <number>``, blank line, text -- written aside, then moved into ``outgoing``."""
        for number, text in messages:
            self._serial += 1
            tmp = self.spool / "tmp" / f"bench{self._serial:06d}"
            tmp.write_text(f"To: {number.lstrip('+')}\n\n{text}\n")
            tmp.rename(self.spool / "outgoing" / tmp.name)

    def cpu_seconds(self) -> float:
        return procs.tree_cpu_seconds(self._proc.pid) if self._proc else 0.0

    def stop(self) -> None:
        if self._proc is not None:
            procs.stop(self._proc)
            self._proc = None

    def configs(self) -> dict[str, str]:
        out = {"smsd.conf": self.config_path.read_text()} if self.config_path.exists() else {}
        if self.eventhandler is not None:
            out[self.eventhandler.name] = self.eventhandler.read_text()
        return out


def smstools_reply_hook(path: Path, text: str, spool: Path) -> Path:
    """An eventhandler that answers each RECEIVED file with ``text``: an outgoing file to its sender."""
    path.write_text(
        "#!/bin/sh\n"
        "# smsd eventhandler: $1 = event (RECEIVED, SENT, FAILED, REPORT, CALL), $2 = the message file\n"
        '[ "$1" = RECEIVED ] || exit 0\n'
        "sender=$(sed -n 's/^From: //p' \"$2\" | head -n 1)\n"
        f'tmp="{spool}/tmp/reply-$$-$(basename "$2")"\n'
        f"printf 'To: %s\\n\\n%s\\n' \"$sender\" '{text}' > \"$tmp\"\n"
        f'mv "$tmp" "{spool}/outgoing/"\n'
    )
    path.chmod(0o755)
    return path


# ---------------------------------------------------------------- installation and versions


def ensure_peers() -> dict[str, str]:
    """Install gammu-smsd and smstools when missing and we are root; name what is still missing, and why."""
    missing = [exe for exe in (GAMMU_SMSD, SMSD) if shutil.which(exe) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        command = ["apt-get", "install", "-y", "gammu", "gammu-smsd", "smstools"]
        if subprocess.run(command, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(command, env=env, capture_output=True)
        _stop_packaged_services()
    unavailable = {}
    for exe in (GAMMU_SMSD, SMSD):
        if shutil.which(exe) is None:
            why = "apt-get install failed" if os.geteuid() == 0 else "not root: apt-get install gammu-smsd smstools"
            unavailable[exe] = f"{exe} not installed ({why})"
    return unavailable


def _stop_packaged_services() -> None:
    """The packages may start their own daemons on the default device: stop them, by their pid files."""
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "disable", "--now", "smstools", "gammu-smsd"], capture_output=True)
    for pidfile in (Path("/var/run/smstools/smsd.pid"), Path("/var/run/gammu-smsd.pid")):
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        time.sleep(0.5)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for label, command in (("gammu", [GAMMU_SMSD, "--version"]), ("smstools", [SMSD, "-V"])):
        try:
            text = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            out[label] = "not installed"
            continue
        out[label] = text.splitlines()[0].split(",")[0].strip() if text else "unknown"
    try:
        out["python-gsmmodem"] = version("python-gsmmodem-new")
    except PackageNotFoundError:
        out["python-gsmmodem"] = "unknown"
    return out
