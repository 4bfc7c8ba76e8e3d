"""What the CLI does, as library functions (the CLI only parses options and prints)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config import Config
from gateway.conversation.refs import format_ref, ref_candidates
from gateway.exceptions import GatewayError, MessageTooLong, NotFound, SimulatorUnavailable
from gateway.lockfile import holder
from gateway.store import OutboxRow, Store, TicketRow, UssdRequestRow, utcnow
from sim_bank import EncodeError
from sim_bank.pdu import PART_LIMIT, SINGLE_LIMIT, Segments, segment
from sim_bank.quotas import QuotaConfig

if TYPE_CHECKING:
    from gateway.conversation.catalogue import Catalogue

TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")  # the contract's ticket statuses
SOCKET_MAX = 100  # Unix socket paths are limited to ~108 bytes


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


def daemon_running(config: Config) -> bool:
    """Whether a daemon serves the database now (it holds the database's lock file)."""
    return holder(config.database_path) is not None


def no_daemon(config: Config) -> str | None:
    """What an operator must know after queueing when no daemon serves the database (nothing
    goes out until one starts), or None when one does."""
    if daemon_running(config):
        return None
    return f"no daemon is running on {config.database_path}: it waits in the queue until one starts (gateway run)"


async def open_store(config: Config, *, create: bool = False) -> Store:
    """The configured database. Only commands that must write (``send``, contacts import,
    ``broadcast``) pass ``create``: for the others a missing file is an error naming the path
    (:class:`DatabaseMissing`) -- a typo in a path must not look like an empty gateway."""
    return await Store.open(
        config.database_path,
        site=config.site.id,
        busy_timeout=config.storage.busy_timeout,
        create=create,
        group=config.storage.group or None,
    )


@dataclass(frozen=True)
class ParseResult:
    text: str
    sender: str | None
    sender_kind: str
    phone: str | None
    decision: dict[str, Any]
    reply: str | None
    reply_parts: int
    reply_encoding: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sender": self.sender,
            "sender_kind": self.sender_kind,
            "phone": self.phone,
            **self.decision,
            "reply_text": self.reply,
            "reply_parts": self.reply_parts,
            "reply_encoding": self.reply_encoding,
        }


def parse_message(config: Config, text: str, sender: str | None, catalogue: Catalogue | None = None) -> ParseResult:
    """What the router would do with ``text`` from ``sender`` -- no database, no modem."""
    from gateway.conversation.catalogue import load_catalogue
    from gateway.conversation.phones import classify, number_language
    from gateway.conversation.replies import compose
    from gateway.conversation.router import route

    catalogue = catalogue or load_catalogue(config.catalogue_path)
    if sender:
        who = classify(
            sender,
            alphanumeric=not sender.lstrip("+").isdigit(),
            region=config.site.region,
            own_numbers=config.own_numbers,
            short_code_max_digits=config.receive.short_code_max_digits,
        )
        kind, phone = who.kind, who.phone
    else:
        kind, phone = "person", None
    decision = route(
        text,
        catalogue=catalogue,
        sender_kind=kind,
        default_language=config.site.language,
        number_language=number_language(phone),
        account_min_digits=config.conversation.account_min_digits,
    )
    reply = compose(catalogue, decision, ref=format_ref(config.site.id, 123)) if decision.reply else None
    seg = segment(reply) if reply else None
    return ParseResult(
        text, sender, kind, phone, decision.as_dict(), reply, seg.count if seg else 0, seg.encoding if seg else None
    )


def longest_message(config: Config, lane: str = "notification") -> tuple[int, str]:
    """The most SMS parts one message in ``lane`` may have, and the settings that say so: what
    the roomiest SIM may send of that lane in one minute -- ``per_minute``, less the share every
    minute keeps for replies unless it is a reply. A message's parts go from one SIM (a handset
    joins parts from one sender only) and the operator's per-minute limit is law: a longer
    message could never leave, or only in a minute without any reply. Without [[modems]]
    (a simulated bank), the [quotas] settings."""
    q = config.quotas
    sims = [(m.id, QuotaConfig(m.per_minute, m.per_day, m.reply_reserve)) for m in config.modems]
    if not sims:
        sims = [("", QuotaConfig(q.per_minute, q.per_day, q.reply_reserve))]
    sim, limits = max(sims, key=lambda s: s[1].minute_limit(lane))
    setting = "[quotas] per_minute" if not config.modems else f"per_minute of {sim}" if len(sims) == 1 else "per_minute"
    reserved = limits.per_minute - limits.minute_limit(lane)
    if reserved:
        setting += f" = {limits.per_minute}, less the {reserved} part(s) reply_reserve keeps for replies"
    return limits.minute_limit(lane), setting


def too_long(config: Config, seg: Segments, what: str = "the message", lane: str = "notification") -> str | None:
    """Why ``seg`` can never be sent in ``lane`` (more parts than any SIM's minute for that lane), or None."""
    limit, setting = longest_message(config, lane)
    parts = len(seg.parts)
    if parts <= limit:
        return None
    room = SINGLE_LIMIT[seg.encoding] if limit == 1 else PART_LIMIT[seg.encoding] * limit
    alphabet = "GSM characters" if seg.encoding == "gsm7" else "characters in Persian/Arabic (UCS-2)"
    return (
        f"{what} is {parts} SMS parts: more than any SIM may send in one minute ({limit}, {setting}); "
        f"shorten it to at most {limit} part(s) (about {room:,} {alphabet})"
    )


def check_length(config: Config, text: str, what: str = "the message", lane: str = "notification") -> Segments:
    """``text``'s SMS parts; raises :class:`MessageTooLong` (before anything is queued) when
    no SIM could ever send it in ``lane``, or :class:`GatewayError` when it cannot be an SMS at all."""
    try:
        seg = segment(text)
    except EncodeError as exc:
        raise GatewayError(str(exc)) from None
    reason = too_long(config, seg, what, lane)
    if reason:
        raise MessageTooLong(reason, len(seg.parts), longest_message(config, lane)[0])
    return seg


async def queue_sms(config: Config, number: str, text: str) -> OutboxRow:
    """Queue an SMS for the daemon to send (lane ``notification``). Refuses, queueing
    nothing, a text no SIM could send (:func:`check_length`)."""
    from gateway.conversation.phones import InvalidNumber, to_e164

    try:
        phone = to_e164(number, config.site.region, mobile=True)
    except InvalidNumber as exc:
        raise GatewayError(str(exc)) from None
    if not text.strip():
        raise GatewayError("the message is empty")
    check_length(config, text)
    async with await open_store(config, create=True) as store:
        row_id = await store.enqueue(phone, text, lane="notification")
        return next(r for r in await store.outbox(limit=50) if r.id == row_id)


async def list_tickets(config: Config, status: str | None, limit: int, sync: str | None = None) -> list[TicketRow]:
    async with await open_store(config) as store:
        return await store.tickets(status=status, limit=limit, sync_status=sync)


async def show_ticket(config: Config, ref: str) -> tuple[TicketRow, list[OutboxRow]]:
    """A ticket by ref (in any digit script, with or without the dash) or id, with its replies."""
    async with await open_store(config) as store:
        ticket = await store.ticket(*ref_candidates(ref), ref.strip())
        if ticket is None:
            raise NotFound(f"no ticket {ref!r} in {config.database_path}")
        return ticket, await store.outbox(ticket_id=ticket.id, limit=20)


async def list_outbox(config: Config, status: str | None, limit: int) -> list[OutboxRow]:
    async with await open_store(config) as store:
        return await store.outbox(status=status, limit=limit)


def simulate_sms(config: Config, sender: str, text: str, modem: str | None) -> dict[str, Any]:
    """Text the running simulated SIM bank as a customer would."""
    from sim_bank import simulator

    try:
        return simulator.request(
            control_socket(config.database_path), {"op": "sms", "from": sender, "text": text, "modem": modem}
        )
    except simulator.SimulatorError as exc:
        raise SimulatorUnavailable(
            f"{exc}. Start one with `gateway run --simulate 4` (same --db/-c as this command)"
        ) from None


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


STALE_AFTER = 60.0  # seconds: a SIM status older than this means no daemon is publishing


async def sim_statuses(config: Config) -> list[dict[str, Any]]:
    """Each SIM as the running daemon last published it, with ``stale`` when it stopped publishing."""
    async with await open_store(config) as store:
        rows = await store.sim_statuses()
    now = utcnow()
    out = []
    for r in rows:
        age = (now - datetime.fromisoformat(r.updated_at)).total_seconds()
        out.append({**r.as_json(), "stale": age > STALE_AFTER})
    return out


async def ussd(config: Config, modem: str, code: str, kind: str, timeout: float) -> UssdRequestRow:
    """Have the daemon dial ``code`` on ``modem`` (or reply in, or cancel, the open session)."""
    if not daemon_running(config):
        raise GatewayError(
            f"no daemon is running on {config.database_path}: USSD goes through the daemon's modems -- "
            "start it (gateway run), or point at its database with -c / --db"
        )
    async with await open_store(config) as store:
        known = {m.id for m in config.modems} | {r.modem_id for r in await store.sim_statuses()}
        if known and modem not in known:
            raise NotFound(f"no SIM {modem!r}; the SIMs are: {', '.join(sorted(known))}")
        request_id = await store.add_ussd(modem, code, kind)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await store.ussd_request(request_id)
            if row is not None and row.status != "queued":
                if row.status == "failed":
                    raise GatewayError(f"{modem}: {row.error}")
                return row
            await asyncio.sleep(0.2)
        await store.cancel_ussd(request_id)
    raise GatewayError(f"no answer in {timeout:.0f} s: is the daemon running on {config.database_path} (gateway run)?")
