"""One daemon per database: an exclusive lock on ``<database>.lock`` for the daemon's life.

Two daemons on one database would both drive the modems and both sync: the
second refuses to start, naming the first (its pid and when it started). The
lock is the kernel's (``flock``), so it goes with the process however the
process ends -- a ``kill -9`` leaves no stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.exceptions import GatewayError

if TYPE_CHECKING:
    from gateway.config import Config


class AlreadyRunning(GatewayError):
    """Another daemon holds this database."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DaemonLock:
    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunning` saying who has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise already_running(self.path.with_suffix(""), holder) from None
        os.ftruncate(fd, 0)
        os.write(
            fd, json.dumps({"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}).encode()
        )
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def already_running(database: Path, holder: dict[str, object] | None) -> AlreadyRunning:
    who = f"pid {holder.get('pid', '?')}, started {holder.get('started', '?')}" if holder else "another process"
    return AlreadyRunning(
        f"a gateway daemon is already running on {database} ({who}); "
        "stop it first (systemctl stop sms-gateway, or Ctrl-C in its terminal) or use another database"
    )


def refuse_if_running(database: Path) -> None:
    """Raise :class:`AlreadyRunning` before anything is touched when a daemon holds
    ``database`` (a second ``run --simulate`` must not take over the first one's socket)."""
    running = holder(database)
    if running is not None:
        raise already_running(database, running if running.get("pid") is not None else None)


def holder(database: Path) -> dict[str, object] | None:
    """Who runs a daemon on ``database`` (pid, started), or None when nobody does."""
    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {"pid": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read(fd: int) -> dict[str, object]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096) or b"{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def holder_name(kind: str) -> str:
    """``kind:PID``: who holds a lease or writes a campaign (this process)."""
    return f"{kind}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    """Whether the process named ``kind:PID`` still runs (the CLI and daemon share a host)."""
    try:
        pid = int(holder.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def daemon_running(config: Config) -> bool:
    """Whether a daemon serves the database now (it holds the database's lock file)."""
    return holder(config.database_path) is not None


def no_daemon(config: Config) -> str | None:
    """What an operator must know after queueing when no daemon serves the database (nothing
    goes out until one starts), or None when one does."""
    if daemon_running(config):
        return None
    return f"no daemon is running on {config.database_path}: it waits in the queue until one starts (gateway run)"
