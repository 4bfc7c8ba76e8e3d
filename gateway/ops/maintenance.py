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

import csv
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from gateway.config import Config
from gateway.exceptions import DatabaseCorrupt, DatabaseMissing, GatewayError
from gateway.store import TicketRow, stamp
from gateway.store import files as private_files
from gateway.store.base import corruption

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
    source = config.database_path
    if not source.exists():
        raise DatabaseMissing(source)
    target = target.resolve()
    if target.exists() and not force:
        raise BackupError(f"{target} exists: choose another name or pass --force")
    if target == source.resolve():
        raise BackupError("the backup must go to another file than the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=config.storage.busy_timeout)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            src.close()
            dst.close()
        report = _check(tmp)
        private_files.restrict(tmp, config.storage.group or None)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupReport(target, target.stat().st_size, report[0], report[1])


def _check(path: Path) -> tuple[dict[str, int], int]:
    conn = sqlite3.connect(path)
    try:
        (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy does not check out: {verdict}")
        rows = {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}
        (version,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM schema_migrations").fetchone()
        return rows, int(version)
    finally:
        conn.close()


def export_tickets(
    config: Config, out: TextIO, *, fmt: str, since: datetime | None = None, sync: str | None = None
) -> int:
    """Write tickets (oldest first; received since ``since``; in sync state ``sync``) to ``out``
    as ``csv`` or ``json``. Returns how many. Reads a snapshot; the daemon keeps running."""
    if not config.database_path.exists():
        raise DatabaseMissing(config.database_path)
    conn = sqlite3.connect(f"file:{config.database_path}?mode=ro", uri=True, timeout=config.storage.busy_timeout)
    conn.row_factory = sqlite3.Row
    try:
        rows = _tickets(conn, since, sync)
        if fmt == "json":
            return _json(rows, out)
        return _csv(rows, out)
    except sqlite3.Error as exc:
        if corruption(exc):
            raise DatabaseCorrupt(config.database_path, str(exc)) from None
        raise GatewayError(f"cannot read {config.database_path}: {exc}") from None
    finally:
        conn.close()


def _tickets(conn: sqlite3.Connection, since: datetime | None, sync: str | None) -> Iterator[dict[str, Any]]:
    sql = f"SELECT {', '.join(EXPORT_FIELDS)} FROM tickets WHERE received_at >= ?"
    params: list[Any] = [stamp(since) if since else ""]
    if sync:
        sql += " AND sync_status = ?"
        params.append(sync)
    for row in conn.execute(sql + " ORDER BY seq", params):
        yield dict(row)


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
