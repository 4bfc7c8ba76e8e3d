"""SMS in: commit what the SIM holds, then let the SIM forget it, then route.

Order is the whole point (DESIGN.md, "nothing is lost"):

1. a sweep's batch is committed to ``inbound_pdus`` / ``messages`` in one
   transaction -- raw PDUs included, also the ones that do not decode;
2. only then is the SIM asked to delete those indexes (if the commit failed,
   the worker is told to hand them over again; if the database file was removed
   or replaced meanwhile, the SIM keeps them and the daemon stops);
3. each complete message is routed (:mod:`gateway.inbound.routing`): ticket,
   reply and message state in one transaction, at most once. Messages committed
   but not routed (a crash between 1 and 3) are routed at the next start.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import structlog

from gateway.config import Config
from gateway.conversation.catalogue import Catalogue
from gateway.events import Observer
from gateway.exceptions import DatabaseReplaced
from gateway.inbound.reassembly import assemble, release
from gateway.inbound.reports import apply_report
from gateway.inbound.routing import Routing
from gateway.runtime import SYSTEM, Clock, Tasks
from gateway.store import STORE_ERRORS, InboundItem, iso
from gateway.store.protocols import IntakeStore
from sim_bank import InboundBatch, SimBank, StoredPdu, pdu

log = structlog.get_logger("gateway.inbound.intake")


def to_item(stored: StoredPdu) -> InboundItem:
    """What the store keeps of one listed PDU (pure)."""
    d = stored.decoded
    where = (stored.memory, stored.index, stored.pdu)
    if d is None:
        return InboundItem(*where, kind="undecodable", error=stored.error)
    if isinstance(d, pdu.StatusReport):
        return InboundItem(*where, kind="report", sender=d.recipient)
    kind = "binary" if d.encoding == "binary" or d.port is not None else ("part" if d.concat else "sms")
    return InboundItem(
        *where,
        kind=kind,
        sender=d.sender,
        alphanumeric=d.alphanumeric_sender,
        text=d.text if kind != "binary" else None,
        sent_at=iso(d.sent_at),
        concat=(d.concat.ref, d.concat.total, d.concat.seq) if d.concat and kind == "part" else None,
    )


class Intake:
    def __init__(
        self,
        store: IntakeStore,
        bank: SimBank,
        catalogue: Catalogue,
        config: Config,
        *,
        on_reply: Callable[[], None],
        observer: Observer | None = None,
        on_fatal: Callable[[Exception], None] | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = store
        self.bank = bank
        self.config = config
        self._observer = observer
        self._on_fatal = on_fatal
        self.clock = clock
        self.routing = Routing(store, catalogue, config, on_reply=on_reply, observer=observer, clock=clock)
        self._waiting_since: dict[str, float] = {}  # incomplete long message -> monotonic time first seen
        self._deletes = Tasks()  # SIM deletes in flight

    async def handle_batch(self, batch: InboundBatch) -> None:
        items = [to_item(m) for m in batch.messages]
        by_memory: dict[str, list[int]] = defaultdict(list)
        for m in batch.messages:
            by_memory[m.memory].append(m.index)
        try:
            created = await self.store.add_inbound(batch.modem_id, items, now=self.clock.wall(), assemble=assemble)
        except Exception:
            log.exception("inbound_store_failed", modem_id=batch.modem_id, count=len(items))
            for memory, indexes in by_memory.items():
                self.bank.release(batch.modem_id, memory, indexes)
            return
        if self._swapped(batch.modem_id, by_memory):
            return  # committed into a file that is gone: leave them on the SIM, route nothing
        if any(item.kind == "part" for item in items):
            with contextlib.suppress(*STORE_ERRORS):  # housekeeping notes them at its next round anyway
                await self._track_waiting()  # the wait for the rest starts now, on the monotonic clock
        for item in items:
            if item.kind == "undecodable":
                log.warning("sms_undecodable", modem_id=batch.modem_id, error=item.error, pdu=item.pdu)
        for stored in batch.messages:
            if isinstance(stored.decoded, pdu.StatusReport):  # a report stored on the SIM (+CDSI)
                await apply_report(self.store, batch.modem_id, stored.decoded, self._observer)
        log.info("sms_stored", modem_id=batch.modem_id, pdus=len(items), messages=len(created))
        for memory, indexes in by_memory.items():
            self._deletes.spawn(self._delete(batch.modem_id, memory, indexes))
        await self.route_waiting()

    def _swapped(self, modem_id: str, by_memory: dict[str, list[int]]) -> bool:
        """Whether the database file was removed or replaced under us. If so the SIM keeps
        these messages (released for the next sweep) and the daemon is told to stop: the SIM
        copy is the only one that will survive."""
        try:
            self.store.check_identity()
        except DatabaseReplaced as exc:
            log.error(
                "database_replaced",
                path=str(exc.path),
                modem_id=modem_id,
                kept_on_sim=sum(map(len, by_memory.values())),
            )
            for memory, indexes in by_memory.items():
                self.bank.release(modem_id, memory, indexes)
            if self._on_fatal is not None:
                self._on_fatal(exc)
            return True
        return False

    async def _delete(self, modem_id: str, memory: str, indexes: list[int]) -> None:
        if self._swapped(modem_id, {memory: indexes}):
            return
        try:
            await self.bank.delete(modem_id, memory, indexes)
        except Exception as exc:  # noqa: BLE001 - the rows are committed; the next sweep retries the delete
            log.warning("sim_delete_failed", modem_id=modem_id, memory=memory, error=str(exc))
            self.bank.release(modem_id, memory, indexes)
            return
        try:
            await self.store.mark_deleted(modem_id, memory, indexes)
        except STORE_ERRORS as exc:  # harmless: the SIM copies are gone, an identical PDU is a duplicate anyway
            log.warning("sim_delete_unrecorded", modem_id=modem_id, memory=memory, error=str(exc))

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for SIM deletes in flight (at shutdown), at most ``timeout``; those still
        running then are cancelled. Deletes left undone are safe: the next start finds
        those messages already stored."""
        await self._deletes.drain(timeout)

    async def release_incomplete(self) -> None:
        """Route long messages whose missing parts did not arrive within ``concat_timeout``,
        measured on the monotonic clock from when this run first saw them waiting: a step
        of the wall clock neither holds them back nor releases them early. A group stored
        before this run counts its stored age, at most ``concat_timeout``."""
        limit = self.config.receive.concat_timeout
        groups = await self._track_waiting()
        mono, wall = self.clock.monotonic(), self.clock.wall()
        created = []
        for key in groups:
            if mono - self._waiting_since[key] >= limit:
                mid = await self.store.release_group(key, wall, release=release)
                self._waiting_since.pop(key, None)
                if mid is not None:
                    created.append(mid)
        if created:
            log.warning("sms_parts_missing", messages=len(created))
            await self.route_waiting()

    async def _track_waiting(self) -> dict[str, datetime]:
        """Note when this run first saw each long message still missing parts (monotonic)."""
        groups = await self.store.incomplete_groups()
        mono, wall = self.clock.monotonic(), self.clock.wall()
        for key in set(self._waiting_since) - set(groups):
            del self._waiting_since[key]  # completed (or released) meanwhile
        for key, first in groups.items():
            if key not in self._waiting_since:
                age = min(max(0.0, (wall - first).total_seconds()), self.config.receive.concat_timeout)
                self._waiting_since[key] = mono - age
        return groups

    async def route_waiting(self) -> None:
        """Route every committed message not routed yet (see :mod:`gateway.inbound.routing`)."""
        await self.routing.route_waiting()
