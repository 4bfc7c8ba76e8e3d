"""Which SIM sends a message (pure).

Among the SIMs that are free right now (connected, healthy, not sending):
only those with quota left for the message's lane and size; of those, the
SIMs of the recipient's own operator when there are any (on-net SMS is
cheaper and more reliable); then the one with the fewest messages waiting
for it; then the one used longest ago.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


def choose(
    free: Sequence[str],
    *,
    fits: Callable[[str], bool],
    sim_operator: Mapping[str, str | None],
    wanted_operator: str | None = None,
    waiting: Mapping[str, int] | None = None,
) -> str | None:
    """A SIM from ``free`` (given least recently used first), or None if none may send it."""
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
