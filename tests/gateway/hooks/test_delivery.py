"""The webhook service on its own, with real receivers on 127.0.0.1: a slow receiver delays
only its own events; a receiver that hangs is cut off at the whole-request timeout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.hooks.delivery import WebhookService
from gateway.runtime import SteppedClock
from gateway.store import Actor, Store
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
