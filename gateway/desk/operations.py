"""Finding tickets (``gateway tickets list``, its filters and ``--follow``); one ticket, with its
history and thread, is :mod:`gateway.desk.casework`.

What each filter means is decided here, and the store only compares values
(:class:`gateway.store.reader.TicketFilter`):

* ``phone``: any rendering of the number (spaces, dashes, ``0912...``, Persian digits), made
  +E.164 in ``[site] region``, as tickets keep it;
* ``account``: its digits in any script, made ASCII;
* ``area``: tickets have an account and a phone, contacts have an area -- a ticket is in an
  area when its phone, or its account, is a contact's in that area (``contacts import``);
* ``search``: the needle normalised as the router normalises a customer's text (Persian and
  Arabic letter variants and every digit script folded, case folded, diacritics, ZWNJ and
  tatweel gone, blanks collapsed), found in each ticket's text normalised the same way;
* ``since``/``until``: ``received_at`` at or after ``since``, before ``until``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.desk.rules import TICKET_STATUSES
from gateway.exceptions import DeskError, StoreError
from gateway.store.reader import TicketFilter

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import TicketRow

__all__ = [
    "FOLLOW_POLL",
    "TICKET_STATUSES",
    "TicketFilter",
    "follow_start",
    "follow_tickets",
    "list_tickets",
    "ticket_filter",
]

FOLLOW_POLL = 0.5  # seconds between two looks for new tickets (``--follow``): read-only, one query
FOLLOW_BATCH = 500  # new tickets read per look at most; the rest come in the next look


def ticket_filter(
    config: Config,
    *,
    status: str | None = None,
    sync_status: str | None = None,
    category: str | None = None,
    phone: str | None = None,
    account: str | None = None,
    area: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    assigned: str | None = None,
    search: str | None = None,
) -> TicketFilter:
    """The filter these choices mean (see the module's docstring); a value that can match
    nothing as written (a number that is no number, an empty search) is an error."""
    return TicketFilter(
        status=status,
        sync_status=sync_status,
        category=_given(category, "category"),
        phone=_phone(config, phone) if phone is not None else None,
        account=_account(account) if account is not None else None,
        area=_given(area, "area"),
        assigned_to=_given(assigned, "assignee"),
        since=_stamp(since) if since is not None else None,
        until=_stamp(until) if until is not None else None,
        search=_needle(search) if search is not None else None,
        fold=_fold() if search is not None else None,
    )


def list_tickets(
    config: Config, status: str | None, limit: int, sync: str | None = None, where: TicketFilter | None = None
) -> list[TicketRow]:
    """The newest ``limit`` tickets, with this ``status`` and CRM ``sync`` state if given, and as
    ``where`` narrows them. Blocking: read without asyncio when the database allows
    (:mod:`gateway.store.reader`: a command that lists tickets starts fast), else through the
    store, which migrates an older database or says why it cannot read this one. Async code
    asks the store (``TicketReader``) instead."""
    from gateway.store import reader

    path, timeout = config.database_path, config.storage.busy_timeout
    rows = reader.tickets(path, timeout, status=status, limit=limit, sync_status=sync, where=where)
    if rows is not None:
        return rows
    import asyncio

    if where is None or where == TicketFilter():
        return asyncio.run(_tickets(config, status, limit, sync))
    asyncio.run(_migrate(config))  # the store brings the file up to date, or says what is wrong
    rows = reader.tickets(path, timeout, status=status, limit=limit, sync_status=sync, where=where)
    if rows is None:
        raise StoreError(f"cannot read the tickets in {path} right now (busy or damaged): try again")
    return rows


def follow_tickets(
    config: Config,
    where: TicketFilter,
    *,
    after_seq: int,
    poll: float = FOLLOW_POLL,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[TicketRow]:
    """Each ticket made after ticket number ``after_seq`` that ``where`` lets through, oldest
    first, as it arrives: a look every ``poll`` seconds, read-only, until the caller stops
    (Ctrl-C). A look the database cannot answer (busy) is tried again at the next one."""
    from dataclasses import replace

    from gateway.store import reader

    path, timeout = config.database_path, config.storage.busy_timeout
    while True:
        rows = reader.tickets(
            path, timeout, limit=FOLLOW_BATCH, where=replace(where, after_seq=after_seq), oldest_first=True
        )
        for row in rows or ():
            after_seq = max(after_seq, row.seq)
            yield row
        if not rows or len(rows) < FOLLOW_BATCH:
            sleep(poll)


def follow_start(config: Config) -> int:
    """The number of the newest ticket (0 with none): ``--follow`` shows those made after it.
    An older database is brought up to date by the store first (or it says what is wrong)."""
    from gateway.store import reader

    path, timeout = config.database_path, config.storage.busy_timeout
    seq = reader.last_ticket_seq(path, timeout)
    if seq is None:
        import asyncio

        asyncio.run(_migrate(config))
        seq = reader.last_ticket_seq(path, timeout)
    if seq is None:
        raise StoreError(f"cannot read the tickets in {config.database_path} right now (busy or damaged): try again")
    return seq


async def _tickets(config: Config, status: str | None, limit: int, sync: str | None) -> list[TicketRow]:
    from gateway.store.configured import open_store

    async with await open_store(config) as store:
        return await store.tickets(status=status, limit=limit, sync_status=sync)


async def _migrate(config: Config) -> None:
    from gateway.store.configured import open_store

    async with await open_store(config):
        pass


def _stamp(moment: datetime) -> str:
    """As the store stamps ``received_at`` (ISO UTC, milliseconds), so that text compares as time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _given(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise DeskError(f"the {what} is empty: name one")
    return value.strip()


def _phone(config: Config, phone: str) -> str:
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        return to_e164(phone, config.site.region)
    except InvalidNumber as exc:
        raise DeskError(str(exc)) from None


def _account(account: str) -> str:
    from gateway.config.reader import ascii_digits

    digits = ascii_digits(account.strip())
    if not digits:
        raise DeskError("the account is empty: name one")
    return digits


def _needle(search: str) -> str:
    from gateway.conversation.text import normalise

    needle = normalise(search)
    if not needle:
        raise DeskError(f"the search text {search!r} has nothing to look for (only blanks or marks)")
    return needle


def _fold() -> Callable[[str], str]:
    from gateway.conversation.text import normalise

    return normalise
