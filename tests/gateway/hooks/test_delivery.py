"""The webhook service on its own, with real receivers on 127.0.0.1: a slow receiver delays
only its own events; a receiver that hangs is cut off at the whole-request timeout."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gateway.hooks.delivery import WebhookService
from gateway.runtime import SteppedClock
from gateway.store import Actor, Store
from gateway.store.rows_events import WebhookRow
from tests.gateway.harness import eventually
from tests.gateway.hooks.receiver import Receiver
from tests.gateway.make_tickets import open_tickets


@pytest.mark.slow  # over ~3 s: a real process killed or a receiver timing out
async def test_a_slow_receiver_delays_only_its_own_events(tmp_path: Path) -> None:
    with Receiver(delay=3.0) as slow, Receiver() as fast:  # slow: answers after the 1 s timeout
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            await store.add_webhook(slow.url, ["ticket.opened"], "s", actor=Actor.local("root"))
            await store.add_webhook(fast.url, ["ticket.opened"], "s", actor=Actor.local("root"))
            await open_tickets(store, 5)
            service = WebhookService(store, SteppedClock(), timeout=1.0)
            await service.start()
            try:
                began = time.monotonic()
                await service.step()
                await eventually(lambda: len(fast.events()) == 5, timeout=5)
                assert time.monotonic() - began < 1.0 and len(slow.events()) <= 1
                await eventually(lambda: len(slow.events()) == 1, timeout=5)
            finally:
                await service.stop()
            [(hung, _), (quick, _)] = await store.webhooks()
            assert (hung.after_seq, hung.attempts, hung.last_error) == (0, 1, "no answer within 1 s")
            assert quick.last_error is None and quick.last_success_at is not None


class _RoundReadEarly:
    """The real store, except that a round's list of hooks is the one read before the last turn
    committed its cursor: the moment a round's read and a turn's end cross on a busy machine."""

    def __init__(self, store: Store, hooks: list[WebhookRow]) -> None:
        self._store, self._hooks = store, hooks

    async def active_webhooks(self) -> list[WebhookRow]:
        return self._hooks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_a_round_that_read_the_hook_before_its_cursor_moved_posts_nothing_again(tmp_path: Path) -> None:
    with Receiver() as receiver:
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            await store.add_webhook(receiver.url, ["ticket.opened"], "s", actor=Actor.local("root"))
            await open_tickets(store, 3)
            read_early = await store.active_webhooks()  # cursor 0
            first = WebhookService(store, SteppedClock(), timeout=5.0)
            await first.start()
            await first.step()
            await first.stop()  # its turn done: three events posted, the cursor past them
            assert len(receiver.events()) == 3 and (await store.active_webhooks())[0].after_seq > 0
            late = WebhookService(_RoundReadEarly(store, read_early), SteppedClock(), timeout=5.0)  # type: ignore[arg-type]
            await late.start()
            await late.step()
            await late.stop()
            ids = [e["id"] for e in receiver.events()]
            assert len(ids) == len(set(ids)) == 3  # each event once: the turn read the cursor as it stands
