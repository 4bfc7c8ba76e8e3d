"""People, by hand: opt-outs (``gateway optouts``) and removing contacts, groups and group
members (``gateway contacts remove``, ``gateway groups drop|remove``).

An opt-out is the customers table's, the very state STOP and START by SMS set: adding one
stops broadcasts to that phone and cancels the broadcasts still waiting for it (the same
store path STOP takes); replies about the customer's own requests still go. Removing a
contact takes it out of its groups too; what it texted, its tickets and its opt-out stay.
A removal that names nothing that exists is an error (:class:`~gateway.exceptions.NotFound`).

Each operation has a core on a store (the API keeps one for its process) that the
``config``-taking function the CLI calls opens one for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.desk.rules import check_name
from gateway.exceptions import DeskError, NotFound

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.store import PeopleBook, Store
    from gateway.store.rows import CustomerRow

DESK_REASON = "opted out (gateway optouts add)"  # the cancelled broadcasts' last_error


@dataclass(frozen=True)
class OptOut:
    phone: str
    language: str | None
    opted_out_at: str | None
    cancelled: int = 0  # broadcasts cancelled by this opt-out

    @classmethod
    def of(cls, customer: CustomerRow, cancelled: int = 0) -> OptOut:
        return cls(customer.phone, customer.language, customer.opted_out_at, cancelled)

    def as_json(self) -> dict[str, Any]:
        return {"phone": self.phone, "language": self.language, "opted_out_at": self.opted_out_at}


def phone_number(config: Config, phone: str) -> str:
    """``phone`` written any way (spaces, dashes, a leading 0, any digit script) as +E.164."""
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        return to_e164(phone, config.site.region)
    except InvalidNumber as exc:
        raise DeskError(str(exc)) from None


def group_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise DeskError("the group name is empty")
    return clean


async def list_opt_outs(config: Config, limit: int) -> list[OptOut]:
    async with await _open(config) as store:
        return await opt_outs(store, limit)


async def opt_outs(store: PeopleBook, limit: int) -> list[OptOut]:
    """The phones that opted out, the latest first."""
    return [OptOut.of(c) for c in await store.opt_outs(limit)]


async def add_opt_out(config: Config, phone: str, *, actor: str, now: datetime | None = None) -> OptOut:
    actor = check_name(actor)
    number = phone_number(config, phone)
    async with await _open(config) as store:
        return await opt_out(store, number, actor=actor, now=now)


async def opt_out(store: PeopleBook, phone: str, *, actor: str, now: datetime | None = None) -> OptOut:
    done = await store.opt_out(phone, reason=DESK_REASON, actor=actor, now=now)
    if done is None:
        raise DeskError(f"{phone} has opted out already: nothing changed")
    return OptOut.of(*done)


async def remove_opt_out(config: Config, phone: str, *, actor: str, now: datetime | None = None) -> str:
    actor = check_name(actor)
    number = phone_number(config, phone)
    async with await _open(config) as store:
        try:
            return await opt_in(store, number, actor=actor, now=now)
        except NotFound as exc:  # at the command line: which database was looked in
            raise NotFound(f"{exc} in {config.database_path}") from None


async def opt_in(store: PeopleBook, phone: str, *, actor: str, now: datetime | None = None) -> str:
    """Take back ``phone``'s opt-out (audited as by ``actor``): the number; :class:`NotFound` if it had none."""
    if not await store.opt_in(phone, actor=actor, now=now):
        raise NotFound(f"no opt-out for {phone}")
    return phone


async def remove_contact(config: Config, phone: str, *, actor: str) -> tuple[str, list[str]]:
    """Delete a contact: (its number, the groups it was taken out of)."""
    actor = check_name(actor)
    number = phone_number(config, phone)
    async with await _open(config) as store:
        try:
            return number, await drop_contact(store, number, actor=actor)
        except NotFound as exc:
            raise NotFound(f"{exc} in {config.database_path}") from None


async def drop_contact(store: PeopleBook, phone: str, *, actor: str) -> list[str]:
    """Delete the contact ``phone`` (audited as by ``actor``): the groups it was taken out of;
    :class:`NotFound` if there is no such contact."""
    groups = await store.remove_contact(phone, actor=actor)
    if groups is None:
        raise NotFound(f"no contact {phone}")
    return groups


async def find_contacts(
    store: Store, *, search: str | None = None, group: str | None = None, area: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Contacts as ``gateway contacts list --json`` shows them, by phone number; ``search``: those
    whose name, area, account or number holds it (a number's digits in any script, any spacing,
    a leading 0 of the national format left out). :class:`NotFound` for a group there is not."""
    from gateway.broadcast.audience import check_groups
    from gateway.config.reader import ascii_digits

    await check_groups(store, (group,) if group is not None else ())
    term = (search or "").strip()
    compact = "".join(ascii_digits(term).split()).replace("-", "").removeprefix("+")
    digits = compact.lstrip("0") if compact.isdigit() and len(compact) >= 3 else None
    rows = await store.contacts(group, area, limit, search=term or None, digits=digits or None)
    return [c.as_json() for c in rows]


async def drop_group(config: Config, name: str, *, actor: str) -> int:
    """Delete a group (its contacts stay): how many members it had."""
    actor = check_name(actor)
    name = group_name(name)
    async with await _open(config) as store:
        members = await store.drop_group(name, actor=actor)
    if not members:
        raise NotFound(f"no group {name!r} in {config.database_path}")
    return members


async def remove_member(config: Config, name: str, phone: str, *, actor: str) -> str:
    """Take one contact out of a group (the contact stays): its number."""
    actor = check_name(actor)
    name = group_name(name)
    number = phone_number(config, phone)
    async with await _open(config) as store:
        removed = await store.remove_member(name, number, actor=actor)
    if removed is None:
        raise NotFound(f"no group {name!r} in {config.database_path}")
    if not removed:
        raise NotFound(f"{number} is not in group {name!r}")
    return number


async def _open(config: Config) -> Store:
    from gateway.store.configured import open_store

    return await open_store(config)
