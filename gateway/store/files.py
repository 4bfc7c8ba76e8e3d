"""Files that hold customer data -- the database and its ``-wal``/``-shm``, ticket exports,
backups -- are readable by the gateway's user only (0600), or also by one group (0640) when
``[storage] group`` names it, whatever the umask of whoever runs the command.

SQLite creates ``-wal`` and ``-shm`` with the database file's own mode, so creating the
database file first, with the right mode, covers all three.
"""

from __future__ import annotations

import contextlib
import grp
import os
import stat
from pathlib import Path
from typing import Any, TextIO

PRIVATE = 0o600
GROUP_READABLE = 0o640
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def mode_for(group: str | None) -> int:
    return GROUP_READABLE if group else PRIVATE


def _apply(fd: int, group: str | None) -> None:
    os.fchmod(fd, mode_for(group))  # the umask only ever removes bits; this sets exactly these
    if group:
        with contextlib.suppress(KeyError, PermissionError):  # not root, not a member: the mode still holds
            os.fchown(fd, -1, grp.getgrnam(group).gr_gid)


def create(path: Path, group: str | None = None) -> bool:
    """Create ``path`` empty with the private mode unless it exists. Whether it created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode_for(group))
    except FileExistsError:
        return False
    try:
        _apply(fd, group)
    finally:
        os.close(fd)
    return True


def restrict(path: Path, group: str | None = None) -> None:
    """Give an existing file (a backup just written) exactly the private mode."""
    fd = os.open(path, os.O_RDONLY)
    try:
        _apply(fd, group)
    finally:
        os.close(fd)


def open_for_writing(path: Path, group: str | None = None, **kwargs: Any) -> TextIO:
    """``open(path, "w", **kwargs)`` for a file of customer data: truncated, with the private mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode_for(group))
    try:
        _apply(fd, group)
    except OSError:
        os.close(fd)
        raise
    stream: TextIO = os.fdopen(fd, "w", **kwargs)
    return stream


def tighten(path: Path, group: str | None = None) -> list[Path]:
    """Give the database and its side files the private mode where they are more open than
    that (a file created by hand, or by an older version). Returns the files changed."""
    changed = []
    wanted = mode_for(group)
    for candidate in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        try:
            current = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        if current & ~wanted:
            with contextlib.suppress(PermissionError):
                os.chmod(candidate, current & wanted)
                changed.append(candidate)
    return changed
