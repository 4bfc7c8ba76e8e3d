"""The SIM's message memories: sweeping them, handing messages over, deleting after commit.

A sweep lists a memory with ``AT+CMGL=4`` and parses the answer itself
(``at.parse_cmgl``), so every message keeps the index the modem gave it and an
undecodable PDU is handed over raw, never skipped (notes #5, #6). A message
handed to the gateway stays *pending* -- not handed over again -- until the
gateway deletes it after its commit, or releases it when it could not store it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from . import at, pdu
from .exceptions import CommandFailed, PduError
from .session import ModemSession
from .types import BankEvent, InboundBatch, StoredPdu

log = structlog.get_logger("sim_bank.worker")

READ_MEMORIES = ("ME", "SM", "SR")  # never "MT": it is ME and SM again under other indexes
# Answers to AT+CPMS="<mem>" that say the modem has no such memory (3GPP TS 27.005 3.2.5,
# TS 27.007 9.2): operation not allowed / not supported, and "invalid parameter" -- the
# memory name is the command's only parameter. Only these drop a guessed memory. Anything
# else is about the moment, not the memory: SIM busy (+CMS 314, common just after boot;
# python-gsmmodem itself retries +CME 14 and 515), SIM not ready (310-313, vendor 512+),
# memory failure 320, memory full 322 (a full memory must be read above all), invalid
# index 321 (not about selecting), unknown 500, a plain ERROR, a timeout: the memory stays
# and is selected again at the next sweep.
NO_SUCH_MEMORY = frozenset(
    {
        ("CMS", 302),  # operation not allowed
        ("CMS", 303),  # operation not supported
        ("CMS", 304),  # invalid PDU mode parameter
        ("CMS", 305),  # invalid text mode parameter
        ("CME", 3),  # operation not allowed
        ("CME", 4),  # operation not supported
        ("CME", 50),  # incorrect parameters
    }
)


class SimStorage:
    """One SIM's memories as the worker sweeps them. :meth:`want` is thread-safe; the rest
    runs on the worker's thread."""

    def __init__(self, modem_id: str, emit: Callable[[BankEvent], None]) -> None:
        self.modem_id = modem_id
        self._emit = emit
        self.memories: tuple[str, ...] = ()
        self.guessed = False  # the modem did not say which memories it has
        self._unusable: dict[str, str] = {}  # memory -> why selecting it failed last (warned once)
        self._pending: dict[tuple[str, int], str] = {}  # handed to the gateway, not yet deleted
        self._wanted: set[str] = set()
        self._lock = threading.Lock()

    def want(self, memory: str | None = None) -> bool:
        """Ask for a sweep of one memory, or of all; True when none was asked for before
        (the caller then queues the sweep)."""
        with self._lock:
            first = not self._wanted
            self._wanted.update([memory] if memory else self.memories or READ_MEMORIES)
        return first

    def connected(self, session: ModemSession) -> None:
        """A new connection: learn which memories there are; nothing is wanted yet."""
        self._unusable.clear()
        self.memories, self.guessed = self._readable_memories(session)
        with self._lock:
            self._wanted.clear()

    def forget(self, memory: str, indexes: list[int]) -> None:
        """The gateway could not store these: the next sweep hands them over again."""
        for i in indexes:
            self._pending.pop((memory, i), None)

    def delete(self, session: ModemSession, memory: str, indexes: list[int]) -> None:
        with session.modem._txLock:
            session.use_memory(memory)
            for index in indexes:
                session.write(f"AT+CMGD={index}")
                self._pending.pop((memory, index), None)

    def sweep(self, session: ModemSession) -> None:
        """Sweep the memories asked for since the last sweep."""
        with self._lock:
            wanted = set(self._wanted)
            self._wanted.clear()
        if self.guessed:
            known = self._ask_memories(session)  # its answer was refused or lost at connect: ask again
            if known:
                log.info("sim_memories_known", modem_id=self.modem_id, memories=known)
                wanted -= set(READ_MEMORIES) - set(known)  # a guess the modem now denies
                self.memories, self.guessed = known, False
                self._unusable.clear()
        if "MT" in wanted and "MT" not in self.memories:
            wanted = (wanted - {"MT"}) | set(self.memories)  # MT is ME and SM together
        # the memories we know first, in order; then any other one a +CMTI named
        memories = [m for m in self.memories if m in wanted] + sorted(wanted - set(self.memories))
        self._list(session, memories)

    def _list(self, session: ModemSession, memories: list[str]) -> None:
        """List each memory; hand over every message not yet with the gateway -- also when a
        later memory fails (what was found must never be left marked as handed over)."""
        found: list[StoredPdu] = []
        try:
            for memory in memories:
                try:
                    session.use_memory(memory)
                except CommandFailed as exc:
                    self._memory_refused(memory, exc)
                    continue
                if self._unusable.pop(memory, None) is not None:
                    log.info("sim_memory_usable_again", modem_id=self.modem_id, memory=memory)
                try:
                    lines = session.write("AT+CMGL=4")
                except CommandFailed as exc:  # SIM busy, memory unusable: the other memories still count
                    log.warning("sim_list_failed", modem_id=self.modem_id, memory=memory, error=exc.reason)
                    continue
                entries, stray = at.parse_cmgl(lines)
                session.urcs.handle(stray)
                for entry in entries:
                    key = (memory, entry.index)
                    if self._pending.get(key) == entry.pdu:
                        continue  # already with the gateway, waiting for its delete
                    self._pending[key] = entry.pdu
                    found.append(_decode_stored(memory, entry))
        finally:
            if found:
                self._emit(InboundBatch(self.modem_id, tuple(found)))

    def _memory_refused(self, memory: str, exc: CommandFailed) -> None:
        """The modem would not select ``memory``. Dropped only from a guessed list and only when
        the answer says the modem has no such memory (``NO_SUCH_MEMORY``); any other refusal
        (SIM busy just after boot...) is retried at the next sweep -- dropping SM for a busy
        answer would leave its messages unread until a reconnect. A timeout is not caught
        here: it ends the sweep and counts towards a reconnect, the memory kept."""
        if self.guessed and memory in self.memories and (exc.kind, exc.code) in NO_SUCH_MEMORY:
            self.memories = tuple(m for m in self.memories if m != memory)
            log.info("sim_memory_absent", modem_id=self.modem_id, memory=memory, error=exc.reason)
            return
        if self._unusable.get(memory) == exc.reason:  # said once: no warning on every sweep
            log.debug("sim_list_failed", modem_id=self.modem_id, memory=memory, error=exc.reason)
            return
        self._unusable[memory] = exc.reason
        log.warning("sim_list_failed", modem_id=self.modem_id, memory=memory, error=exc.reason, retry="next sweep")

    def _readable_memories(self, session: ModemSession) -> tuple[tuple[str, ...], bool]:
        """Every memory to sweep: those the modem reads and deletes from (the first
        parameter of ``AT+CPMS=?``, found by its prefix wherever it lies in the answer), and
        whether that is a guess -- a modem that will not say gets every memory we know; the
        question is asked again at every sweep until it answers (:meth:`sweep`), and a
        memory the modem says it does not have is dropped meanwhile (:meth:`_memory_refused`)."""
        memories = self._ask_memories(session)
        if memories:
            return memories, False
        log.warning("sim_memories_unknown", modem_id=self.modem_id)
        return READ_MEMORIES, True

    @staticmethod
    def _ask_memories(session: ModemSession) -> tuple[str, ...]:
        """The memories ``AT+CPMS=?`` names for reading; () when it failed or its line was lost."""
        try:
            support = at.parse_cpms_support(session.write("AT+CPMS=?"))
        except CommandFailed:
            support = None
        readable = support[0] if support else ()
        return tuple(m for m in READ_MEMORIES if m in readable)


def _decode_stored(memory: str, entry: at.Listed) -> StoredPdu:
    try:
        decoded = pdu.decode(entry.pdu)
    except PduError as exc:
        return StoredPdu(memory, entry.index, entry.status, entry.pdu, None, str(exc))
    return StoredPdu(memory, entry.index, entry.status, entry.pdu, decoded)
