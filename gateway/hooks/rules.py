"""What a webhook may be, and how long its deliveries are retried (pure).

Retries: the first again after :data:`RETRY_BASE` seconds, doubling up to :data:`RETRY_CAP`
(an hour), for :data:`GIVE_UP_AFTER` (three days: a long weekend's outage of the receiver)
counted from the first failure of the event at the head of the hook's queue; then the hook
is ``dead`` and ``gateway webhooks list`` says so. Events keep being journalled meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from gateway.exceptions import WebhookError
from gateway.store.events import EVENT_TYPES
from sim_bank.backoff import backoff_delay

RETRY_BASE = 10.0  # seconds before the first retry
RETRY_CAP = 3600.0  # seconds: at most an hour between two tries
GIVE_UP_AFTER = timedelta(days=3)  # failing this long: the hook is dead
MAX_URL = 2000


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; else one clear error."""
    text = url.strip()
    if not text or len(text) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in text):
        raise WebhookError(f"not a URL a webhook can post to: {url!r}")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"a webhook URL must start with http:// or https://, not {url!r}")
    if not parts.hostname:
        raise WebhookError(f"the webhook URL {url!r} names no host")
    if parts.username or parts.password:
        raise WebhookError("a webhook URL must not carry a user or password: the secret signs each event")
    return text


def parse_events(text: str) -> tuple[str, ...]:
    """``ticket.opened,message.received`` as event types, in the journal's order; unknown ones
    are one error naming them and the known ones."""
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    if not wanted:
        raise WebhookError(f"name at least one event type: {', '.join(EVENT_TYPES)}")
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise WebhookError(f"unknown event type {', '.join(unknown)}: choose from {', '.join(EVENT_TYPES)}")
    return tuple(t for t in EVENT_TYPES if t in wanted)


def check_secret(secret: str) -> str:
    if not secret.strip():
        raise WebhookError("the webhook secret is empty: receivers check each event's signature with it")
    if secret != secret.strip() or "\n" in secret:
        raise WebhookError("the webhook secret must not start or end with spaces or hold a line break")
    return secret


def next_try(
    attempts: int, failing_since: datetime, now: datetime, rand: Callable[[], float] | None = None
) -> datetime | None:
    """When to try again after failure number ``attempts`` (1 = the first), or None: give up."""
    if now - failing_since >= GIVE_UP_AFTER:
        return None
    if rand is None:
        delay = backoff_delay(attempts, base=RETRY_BASE, cap=RETRY_CAP)
    else:
        delay = backoff_delay(attempts, base=RETRY_BASE, cap=RETRY_CAP, rand=rand)
    return now + timedelta(seconds=delay)
