"""Who broadcasts reach: contacts imported from CSV files, their groups and areas, and
checks that an audience names only groups, ticket categories and areas that exist."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.broadcast.contacts import (
    Contact,
    LineTooLong,
    RowProblem,
    bounded_lines,
    duplicate,
    open_text,
    read_contacts,
)
from gateway.config import Config
from gateway.conversation.keywords import load_catalogue
from gateway.exceptions import BroadcastError, ContactsFileError, NotFound, Wording
from gateway.store import AudienceSpec, ContactBook
from gateway.store.configured import open_store

IMPORT_BATCH = 2000
KEEP_PROBLEMS = 1000  # bad rows listed in full; beyond, only counted


@dataclass
class ImportReport:
    rows: int = 0  # good rows: new + updated + duplicates
    new: int = 0
    updated: int = 0  # numbers known before this file
    problems: list[RowProblem] = field(default_factory=list)  # skipped rows (the first KEEP_PROBLEMS)
    problem_count: int = 0
    duplicates: list[RowProblem] = field(default_factory=list)  # rows repeating an earlier row's number
    duplicate_count: int = 0


async def import_contacts(
    config: Config,
    path: Path,
    group: str | None,
    *,
    on_size: Callable[[int], None] = lambda _n: None,
    on_progress: Callable[[int], None] = lambda _n: None,
    on_problem: Callable[[RowProblem], None] = lambda _p: None,
    on_duplicate: Callable[[RowProblem], None] = lambda _p: None,
    actor: str,
) -> ImportReport:
    """Stream ``path`` into the contacts, ``IMPORT_BATCH`` rows a transaction. Bad rows are
    reported by line (every one to ``on_problem``; the first ``KEEP_PROBLEMS`` kept in the
    report) and skipped; a row with the number of an earlier row wins over it and is reported
    (``on_duplicate``, and counted apart: rows = new + updated + duplicates). A file that
    cannot be read at all raises; one that breaks off (not UTF-8, not CSV, a line longer than
    :data:`~gateway.broadcast.contacts.MAX_LINE`) raises after importing the good rows before it.
    The audit log gets one entry by ``actor`` with the counts, once rows were written."""
    try:
        raw, text = open_text(str(path))
    except FileNotFoundError:
        raise ContactsFileError(f"{path}: no such file") from None
    except ContactsFileError as exc:
        raise ContactsFileError(f"{path}: {exc}") from None
    on_size(os.path.getsize(path))
    report = ImportReport()
    batch: list[Contact] = []
    # number -> the line it was last on: ~125 bytes a number (125 MB for a million distinct numbers)
    seen: dict[str, int] = {}
    again = 0  # rows of this batch whose number an earlier batch of this file had

    async def flush() -> None:
        nonlocal again
        new, updated = await store.upsert_contacts(batch, group)
        unique = len({c.phone for c in batch})
        report.new += new
        report.updated += updated - again  # a number from an earlier batch is a duplicate, not known before
        report.duplicate_count += len(batch) - unique + again
        again = 0
        batch.clear()
        on_progress(raw.tell())

    def note_duplicate(contact: Contact, earlier: int) -> None:
        row = duplicate(contact.phone, earlier, contact.line)
        on_duplicate(row)
        if len(report.duplicates) < KEEP_PROBLEMS:
            report.duplicates.append(row)

    store = await open_store(config, create=True)

    try:
        with text:
            try:
                for item in read_contacts(bounded_lines(text), config.site.region):
                    if isinstance(item, RowProblem):
                        report.problem_count += 1
                        on_problem(item)
                        if len(report.problems) < KEEP_PROBLEMS:
                            report.problems.append(item)
                        continue
                    report.rows += 1
                    earlier = seen.get(item.phone)
                    if earlier is not None:
                        note_duplicate(item, earlier)
                        if not any(c.phone == item.phone for c in batch):
                            again += 1  # counted "updated" by the store: undo that in flush()
                    seen[item.phone] = item.line
                    batch.append(item)
                    if len(batch) >= IMPORT_BATCH:
                        await flush()
            except (LineTooLong, UnicodeDecodeError, csv.Error) as exc:
                await flush()
                raise ContactsFileError(
                    f"{path}: stopped after {report.rows} good row(s) (those are imported): {exc} -- "
                    "save the file as UTF-8 CSV"
                ) from None
            except ContactsFileError as exc:
                raise ContactsFileError(f"{path}: {exc}") from None
            if batch:
                await flush()
    finally:
        try:
            if report.new or report.updated:
                counts = {"file": path.name, "new": report.new, "updated": report.updated,
                          "duplicates": report.duplicate_count, "skipped": report.problem_count}  # fmt: skip
                await store.note_audit(actor, "contacts.imported", group, counts)
        finally:
            await store.close()
    return report


async def list_contacts(config: Config, group: str | None, area: str | None, limit: int) -> list[dict[str, Any]]:
    async with await open_store(config) as store:
        await check_groups(store, (group,) if group is not None else ())
        return [c.as_json() for c in await store.contacts(group, area, limit)]


async def count_contacts(config: Config, group: str | None, area: str | None) -> int:
    async with await open_store(config) as store:
        await check_groups(store, (group,) if group is not None else ())
        return await store.count_contacts(group, area)


async def check_groups(store: ContactBook, names: Sequence[str]) -> None:
    """Raise :class:`NotFound` naming the first of ``names`` that is no group, and the groups there are."""
    known = {name for name, _n in await store.groups()}
    for name in names:
        if name not in known:
            there = f"the groups are: {', '.join(sorted(known))}" if known else "there are no groups yet"
            words = {"name": repr(name), "there": there, "make_group": "importing contacts into a group"}
            raise NotFound(Wording("no group {name}; {there} ({make_group} makes one)", words))


async def check_audience(store: ContactBook, config: Config, spec: AudienceSpec) -> None:
    """Every group, ticket category and area the operator named exists: a typo is an error
    that names it, never an audience silently smaller (or empty)."""
    await check_groups(store, spec.groups)
    if spec.reporters:
        categories = {c.category for c in load_catalogue(config.catalogue_path).codes if c.category}
        for category in spec.reporters:
            if category not in categories:
                raise NotFound(f"no ticket category {category!r}; the categories are: {', '.join(sorted(categories))}")
    for area in spec.areas:
        if not await store.count_contacts(None, area):
            raise NotFound(f"no contact has area {area!r} (gateway contacts list shows contacts and their areas)")


async def list_groups(config: Config) -> list[tuple[str, int]]:
    async with await open_store(config) as store:
        return await store.groups()


def csv_recipients(
    files: tuple[str, ...], config: Config, skipped: list[RowProblem]
) -> Iterator[tuple[str, str | None]]:
    """(phone, language) of each good row of the CSV ``files``; bad rows go to ``skipped``."""
    for name in files:
        try:
            raw, text = open_text(name)
        except FileNotFoundError:
            raise BroadcastError(f"{name}: no such file") from None
        except ContactsFileError as exc:
            raise BroadcastError(f"{name}: {exc}") from None
        with raw, text:
            try:
                for item in read_contacts(bounded_lines(text), config.site.region):
                    if isinstance(item, RowProblem):
                        skipped.append(RowProblem(item.line, f"{name}: {item.problem}"))
                    else:
                        yield item.phone, item.language
            except (ContactsFileError, UnicodeDecodeError, csv.Error) as exc:
                raise BroadcastError(f"{name}: {exc}") from None
