"""Which free SIM sends which queued row (pure): the dispatcher's plan for one moment.

The one place that picks the SIM. :func:`assign` takes the rows in priority order
(replies, notifications, broadcasts; oldest first) and what the SIM bank looks like now
(:class:`Capacity`), and returns a :class:`Plan`: rows to send now and on which SIM, rows
no SIM may ever send, and when to look again; :func:`choose` is its rule among the SIMs
that may take a row, :func:`operator_of` the recipient's network. No I/O and no clock:
the dispatcher passes in the waits it measured (how many parts a SIM may send is
:mod:`gateway.outbound.quotas`'s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from gateway.config import DEFAULT_REPLY_AFFINITY
from gateway.store import OutboxRow

HOLD_MAX = 60.0  # seconds: a SIM whose minute window frees this soon is held for the row that waits for it
NEVER = -1.0  # a wait meaning: this SIM may never send that row (longer than its per-minute limit)
REPLY: Final = "reply"


@dataclass(frozen=True)
class Capacity:
    """What :func:`assign` knows of the SIM bank at one moment."""

    free: list[str]  # connected, healthy and idle, least recently used first
    ready: set[str]  # connected and healthy (idle or busy)
    wait: Callable[[str, OutboxRow], float] = lambda _m, _r: 0.0  # seconds until the row fits the SIM's quota
    max_parts: int | None = None  # the longest message any SIM may send in one minute
    sim_operator: Mapping[str, str | None] = field(default_factory=dict)
    operator_of: Callable[[str], str | None] = lambda _phone: None
    waiting: Mapping[str, int] = field(default_factory=dict)  # rows waiting for each SIM
    now: datetime | None = None
    affinity: float = DEFAULT_REPLY_AFFINITY
    retry_in: Mapping[int, float] = field(default_factory=dict)  # seconds until a failed row may be retried
    failing: frozenset[str] = frozenset()  # SIMs whose last send failed for a SIM or network reason


@dataclass
class Plan:
    """What :func:`assign` decided: rows to send now, rows no SIM may ever send, and when
    to look again (the earliest moment a row held back by quota or affinity can move)."""

    assignments: dict[int, str] = field(default_factory=dict)
    impossible: dict[int, str] = field(default_factory=dict)
    wake_in: float | None = None

    def soon(self, seconds: float) -> None:
        if seconds > 0:
            self.wake_in = seconds if self.wake_in is None else min(self.wake_in, seconds)


def assign(rows: Iterable[OutboxRow], cap: Capacity) -> Plan:
    """Which free SIM sends which row (pure).

    ``rows`` come in priority order (replies, notifications, broadcasts; oldest first).

    * A long message whose first parts went out from one SIM finishes from that SIM
      (a handset joins parts from one sender only); it waits while that SIM is busy
      or its minute is full, and starts again elsewhere only if the SIM is down or
      has no quota left today.
    * A reply prefers the SIM the customer texted: it waits while that SIM is busy
      (with quota), at most ``affinity`` seconds after it was queued -- and only when it
      is first in line for that SIM (it then waits one send at most); the replies behind
      it take any free SIM rather than queue behind each other.
    * Otherwise :func:`choose` picks among the SIMs with quota left:
      the recipient's network, fewest waiting, least recently used -- and not the
      SIM that just failed this row, when another can take it.
    * A row that no free SIM may send yet holds the SIM whose minute frees soonest,
      so the rows behind it cannot keep that window full (a long reply must not
      starve behind one-part broadcasts); a row longer than any SIM's per-minute
      limit can never go and is reported as impossible.
    * A row that failed waits ``retry_in`` before it is tried again -- except a reply,
      which another SIM takes at once (one not in ``failing``); only the SIM that
      failed it waits.
    * A reply goes to a SIM in ``failing`` only when no healthy ready SIM has quota for it.
    """
    plan = Plan()
    available = list(cap.free)
    awaited: set[str] = set()  # busy SIMs a reply already waits for

    def take(row: OutboxRow, sim: str) -> None:
        plan.assignments[row.id] = sim
        available.remove(sim)

    for row in rows:
        if not available:
            break
        if cap.max_parts is not None and row.parts - row.parts_sent > cap.max_parts:
            plan.impossible[row.id] = (
                f"{row.parts} SMS parts: more than any SIM may send in one minute ({cap.max_parts})"
            )
            continue
        backoff = cap.retry_in.get(row.id, 0.0)
        elsewhere = backoff > 0 and row.lane == REPLY and not row.parts_sent
        if backoff > 0 and not elsewhere:
            plan.soon(backoff)
            continue
        if row.parts_sent and row.modem_id in cap.ready:  # half sent: finish from the same SIM
            own = row.modem_id
            w = cap.wait(own, row)
            if w == 0 and own in available:
                take(row, own)
                continue
            if 0 <= w <= HOLD_MAX:
                if own in available:
                    available.remove(own)  # held: its minute frees soon
                plan.soon(w)
                continue
            # its SIM has no quota left today: start again elsewhere (the first parts arrive twice)
        elif row.modem_hint in cap.ready and row.modem_hint not in cap.failing and not elsewhere:
            own = row.modem_hint
            patience = cap.affinity - _age(row, cap.now) if cap.now is not None else cap.affinity
            if cap.wait(own, row) == 0:
                if own in available:
                    take(row, own)
                    continue
                if patience > 0 and own not in awaited:
                    awaited.add(own)
                    plan.soon(patience)
                    continue  # busy: wait for it a little
        failed_on = row.modem_id if row.attempts and not row.parts_sent else None
        options = [m for m in available if m != failed_on]
        if elsewhere:  # at once only to a SIM that has not just failed too (a network-wide fault waits)
            options = [m for m in options if m not in cap.failing]
        else:
            options = options or available
        if row.lane == REPLY and cap.failing:
            healthy = [m for m in cap.ready - cap.failing if m != failed_on and cap.wait(m, row) == 0]
            if healthy:  # a healthy SIM (free now or soon) sends it: not one that keeps failing
                options = [m for m in options if m not in cap.failing]
        if not options:
            if elsewhere:
                plan.soon(backoff)
            continue  # a SIM this row may go to is busy: its end wakes the dispatcher
        choice = choose(
            options,
            fits=lambda m, r=row: cap.wait(m, r) == 0,  # type: ignore[misc]
            sim_operator=cap.sim_operator,
            wanted_operator=cap.operator_of(row.phone),
            waiting=cap.waiting,
        )
        if choice is not None:
            take(row, choice)
            continue
        later = [(w, m) for m in options if (w := cap.wait(m, row)) > 0]
        if later:
            w, sim = min(later)
            if w <= HOLD_MAX:
                available.remove(sim)  # hold it for this row, which is first in line for it
            plan.soon(w)
    return plan


def choose(
    free: Sequence[str],
    *,
    fits: Callable[[str], bool],
    sim_operator: Mapping[str, str | None],
    wanted_operator: str | None = None,
    waiting: Mapping[str, int] | None = None,
) -> str | None:
    """A SIM from ``free`` (given least recently used first), or None if none may send it.

    Only those with quota left for the message's lane and size (``fits``); of those, the
    SIMs of the recipient's own operator when there are any (on-net SMS is cheaper and
    more reliable); then the one with the fewest messages waiting for it; then the one
    used longest ago."""
    options = [m for m in free if fits(m)]
    if not options:
        return None
    if wanted_operator is not None:
        same = [m for m in options if sim_operator.get(m) == wanted_operator]
        options = same or options
    waiting = waiting or {}
    order = {m: i for i, m in enumerate(free)}
    return min(options, key=lambda m: (waiting.get(m, 0), order[m]))


def operator_of(phone: str, prefixes: Mapping[str, Sequence[str]]) -> str | None:
    """The operator whose number prefixes ``phone`` starts with (the longest prefix wins)."""
    best: tuple[int, str | None] = (0, None)
    for operator, starts in prefixes.items():
        for prefix in starts:
            if phone.startswith(prefix) and len(prefix) > best[0]:
                best = (len(prefix), operator)
    return best[1]


def waiting_per_sim(rows: Iterable[OutboxRow]) -> Counter[str]:
    """Rows that prefer each SIM among those looked at."""
    return Counter(sim for r in rows if (sim := r.modem_id if r.parts_sent else r.modem_hint))


def _age(row: OutboxRow, now: datetime) -> float:
    """Seconds since the row was queued (never negative: the wall clock may have stepped back)."""
    return max(0.0, (now - datetime.fromisoformat(row.created_at)).total_seconds())
