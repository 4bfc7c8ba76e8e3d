"""Daemons under test as child processes: CPU time from /proc, and a stop that always ends them.

Every daemon starts in a session of its own, so that it and whatever it forks
(smsd runs one child per modem) can be ended together by that session's id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, stdout and stderr to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process's session (the daemon and its children), SIGKILL what is left after ``timeout``."""
    pgid = proc.pid  # the session leader's id is its process group's id (start_new_session)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)  # children that outlived their parent


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and all its descendants (and of their reaped children)."""
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total / CLOCK_TICKS


def _all_stats() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, utime + stime + cutime + cstime in clock ticks), for every process now."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3
        out[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return out
