"""Exponential backoff with jitter (pure): reconnecting modems, retrying sends, CRM pushes."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    ``base * 2**(attempt-1)``, capped, then spread by +-``jitter`` (a fraction)
    so that 64 modems unplugged together do not all come back in the same
    millisecond.
    """
    if attempt < 1:
        return 0.0
    raw = min(cap, base * 2 ** min(attempt - 1, 62))
    spread = raw * jitter * (2 * rand() - 1)
    return float(max(0.0, min(cap, raw + spread)))
