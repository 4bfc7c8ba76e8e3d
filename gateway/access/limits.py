"""The sign-in limit (pure, with a clock passed in): after ``[web] login_attempts`` failed
sign-ins for one name, or from one address, within ``[web] login_window`` seconds, further
tries are refused until the oldest failure is out of the window.

Counted per name in any letter case whether or not the name exists, so that the refusal says
nothing about which names do. A success clears its name's failures, not its address's: an
attacker with an account of their own must not be able to wipe the count of a spray across
names. Kept in the memory of the one ``gateway serve`` process: a restart forgets it, which
costs an attacker a restart they cannot cause.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

KEYS_MAX = 100_000  # names and addresses remembered at once; beyond, the stalest are dropped


class SignInLimit:
    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, name: str, address: str) -> int | None:
        """Whole seconds until ``name`` may be tried from ``address`` again; None: now."""
        now = self.clock()
        waits = [self._wait(key, now) for key in self._keys(name, address)]
        wait = max((w for w in waits if w is not None), default=None)
        return None if wait is None else max(1, math.ceil(wait))

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        for key in self._keys(name, address):
            times = self._failures.pop(key, None) or deque(maxlen=self.attempts)
            times.append(now)
            self._failures[key] = times  # last in the dict: the most recently seen
        while len(self._failures) > KEYS_MAX:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, name: str) -> None:
        self._failures.pop(("name", _folded(name)), None)

    def _wait(self, key: tuple[str, str], now: float) -> float | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        if len(times) < self.attempts:
            return None
        return times[0] + self.window - now

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("name", _folded(name)), ("address", address)


def _folded(name: str) -> str:
    return name.strip().casefold()
