"""Is a SIM fit to send? Quarantine with backoff, and the way back (pure).

A SIM is quarantined when it is not registered on a network, has no signal,
or fails ``strikes`` sends in a row for reasons that are about the SIM or the
network rather than the message (a bad number says nothing about the SIM).
Quarantine lasts ``base`` seconds, doubling with each quarantine in a row up
to ``cap``. When it ends the SIM is on probation: one good send (or a health
poll that finds it registered with signal) clears its record; one more
failure sends it back for longer. A quarantine for registration or signal
also ends as soon as a poll finds the SIM registered with signal again.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backoff import backoff_delay
from .exceptions import is_permanent_cms

REGISTERED = (1, 5)  # home, roaming
DEFAULT_STRIKES = 3
DEFAULT_BASE = 30.0
DEFAULT_CAP = 900.0


@dataclass(frozen=True)
class HealthPolicy:
    strikes: int = DEFAULT_STRIKES
    base: float = DEFAULT_BASE
    cap: float = DEFAULT_CAP


@dataclass
class Health:
    """What one SIM's recent history says (times are ``time.monotonic()`` seconds)."""

    strikes: int = 0
    quarantines: int = 0  # in a row
    until: float | None = None
    reason: str | None = None
    radio: bool = False  # the current quarantine is for registration or signal
    last_error: str | None = None

    def available(self, now: float) -> bool:
        """Whether the SIM may send. A quarantine for registration or signal ends only when
        a poll finds the SIM back; one for failed sends ends with its time (probation)."""
        if self.radio:
            return False
        return self.until is None or now >= self.until

    @property
    def quarantined(self) -> bool:
        return self.until is not None


def _quarantine(h: Health, policy: HealthPolicy, now: float, reason: str, radio: bool) -> None:
    h.quarantines += 1
    h.until = now + backoff_delay(h.quarantines, base=policy.base, cap=policy.cap, jitter=0.1)
    h.reason = reason
    h.radio = radio
    h.strikes = 0


def _clear(h: Health) -> None:
    h.strikes = 0
    h.quarantines = 0
    h.until = None
    h.reason = None
    h.radio = False


def send_ok(h: Health) -> bool:
    """A send went through. Returns True when this ends a quarantine (probation passed)."""
    was = h.quarantined
    _clear(h)
    return was


def send_failed(h: Health, policy: HealthPolicy, now: float, cms_code: int | None, reason: str) -> bool:
    """A send failed. Returns True when the SIM goes into quarantine now."""
    h.last_error = reason
    if cms_code is not None and is_permanent_cms(cms_code):
        return False  # the message's fault, not the SIM's
    if h.quarantined:  # failed on probation: back, for longer
        _quarantine(h, policy, now, f"failed again after quarantine: {reason}", radio=False)
        return True
    h.strikes += 1
    if h.strikes >= policy.strikes:
        _quarantine(h, policy, now, f"{h.strikes} sends failed in a row: {reason}", radio=False)
        return True
    return False


def polled(h: Health, policy: HealthPolicy, now: float, signal: int | None, registration: int | None) -> str | None:
    """A health poll. Returns "quarantined", "released" or None (no change)."""
    if registration is not None and registration not in REGISTERED:
        if not h.radio:
            _quarantine(h, policy, now, f"not registered on the network (+CREG {registration})", radio=True)
            return "quarantined"
        return None
    if signal is not None and signal == 0:
        if not h.radio:
            _quarantine(h, policy, now, "no signal (+CSQ 0)", radio=True)
            return "quarantined"
        return None
    if h.quarantined and h.radio and registration in REGISTERED and signal != 0:
        _clear(h)
        return "released"
    return None
