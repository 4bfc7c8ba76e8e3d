"""Data lifecycle for operators: backups while the daemon runs, tickets exported by hand.

* :func:`backup` copies the database with SQLite's online backup API, in one
  read transaction (a consistent snapshot however busy the daemon is), into a
  temporary file that is checked (``PRAGMA quick_check``) and only then renamed
  into place.
* :func:`export_tickets` writes tickets as CSV or JSON for the day the link never
  comes back: carried to the CRM on a USB stick. Re-importing them is harmless
  -- ticket ids are global, and a later sync is answered ``duplicate``. Cells
  that a spreadsheet would run as formulas are defused.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from gateway.config import Config
from gateway.exceptions import DatabaseMissing, GatewayError, StoreError, Wording
from gateway.store import TicketRow
from gateway.store import files as private_files
from gateway.store.database_file import DatabaseFile
from gateway.store.file_views import Archive
from gateway.store.maintenance import check_copy

TABLES = ("messages", "tickets", "outbox", "campaigns", "contacts")
EXPORT_FIELDS = (*TicketRow.JSON_FIELDS, "crm_note", "status_changed_at")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class BackupError(GatewayError):
    """The backup could not be made or did not check out."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    rows: dict[str, int]
    schema_version: int


def backup(config: Config, target: Path, *, force: bool = False) -> BackupReport:
    """Copy the database to ``target`` (a consistent snapshot; safe while the daemon runs)."""
    return backup_file(DatabaseFile(config.database_path, config.storage.busy_timeout), target,
                       force=force, group=config.storage.group or None)  # fmt: skip


def backup_file(archive: Archive, target: Path, *, force: bool = False, group: str | None = None) -> BackupReport:
    source = archive.path
    if not source.exists():
        raise DatabaseMissing(source)
    target = target.resolve()
    if target.exists() and not force:
        raise BackupError(Wording("{target} exists: choose another name or {overwrite}",
                                  {"target": str(target), "overwrite": "ask to overwrite it"}))  # fmt: skip
    if target == source.resolve():
        raise BackupError("the backup must go to another file than the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        archive.backup_to(tmp)
        copy = check_copy(tmp, TABLES)
        if copy.verdict != "ok":
            raise BackupError(f"the copy does not check out: {copy.verdict}")
        private_files.restrict(tmp, group)
        os.replace(tmp, target)
    except StoreError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupReport(target, target.stat().st_size, copy.rows, copy.schema_version)


def export_tickets(
    config: Config, out: TextIO, *, fmt: str, since: datetime | None = None, sync: str | None = None
) -> int:
    """Write tickets (oldest first; received since ``since``; in sync state ``sync``) to ``out``
    as ``csv`` or ``json``. Returns how many. Reads a snapshot; the daemon keeps running."""
    archive = DatabaseFile(config.database_path, config.storage.busy_timeout)
    return write_tickets(archive, out, fmt=fmt, since=since, sync=sync)


def write_tickets(archive: Archive, out: TextIO, *, fmt: str, since: datetime | None, sync: str | None) -> int:
    if not archive.path.exists():
        raise DatabaseMissing(archive.path)
    with contextlib.closing(archive.export_rows(EXPORT_FIELDS, since=since, sync=sync)) as rows:
        if fmt == "json":
            return _json(rows, out)
        return _csv(rows, out)


def _json(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    n = 0
    out.write("[")
    for row in rows:
        out.write(("\n  " if n == 0 else ",\n  ") + json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def _csv(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    n = 0
    for row in rows:
        writer.writerow([_cell(name, row[name]) for name in EXPORT_FIELDS])
        n += 1
    return n


def _cell(name: str, value: Any) -> str:
    """A value as a spreadsheet will not execute it: text starting with = + - @ gets a
    leading apostrophe (numbers such as +989121234567 stay as they are)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA) and not (name in ("phone", "account", "repeat_count") and _numeric(text)):
        return "'" + text
    return text


def _numeric(text: str) -> bool:
    return text.lstrip("+-").isdigit()
