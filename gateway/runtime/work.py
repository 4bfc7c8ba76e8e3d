"""Small pieces every service uses: "due again?", writes retried until the database takes
them, and tasks kept track of (one at a time per key)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, TypeVar

from gateway.runtime.clock import Clock
from sim_bank.backoff import backoff_delay

T = TypeVar("T")


def every(seconds: float, clock: Clock) -> Callable[[], bool]:
    """ "Due again?": True at the first call, then once ``seconds`` (monotonic) have passed
    since the last True (the pacer's tidy-up, housekeeping's purge)."""
    last: float | None = None

    def due() -> bool:
        nonlocal last
        now = clock.monotonic()
        if last is not None and now - last < seconds:
            return False
        last = now
        return True

    return due


async def retry_store(
    write: Callable[[], Awaitable[T]],
    *,
    errors: tuple[type[Exception], ...],
    clock: Clock,
    on_error: Callable[[Exception, float], None],
    base: float = 0.5,
    cap: float = 30.0,
) -> T:
    """``write()`` until the database takes it, however long that is (a locked or full
    database): after each of ``errors`` (the store's, ``gateway.store.STORE_ERRORS``)
    ``on_error(exc, retry_in)`` (the caller logs), then a capped backoff. For outcomes
    that must be recorded (a modem has spoken)."""
    attempt = 0
    while True:
        try:
            return await write()
        except errors as exc:
            attempt += 1
            delay = backoff_delay(attempt, base=base, cap=cap)
            on_error(exc, delay)
            await clock.sleep(delay)


class Tasks:
    """Tasks a service starts and must not lose track of: each one is kept until it ends;
    work under the same ``key`` runs one at a time (one USSD session per SIM)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def spawn(self, work: Coroutine[Any, Any, object], *, key: Hashable | None = None) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock()) if key is not None else None

        async def run() -> None:
            try:
                if lock is None:
                    await work
                else:
                    async with lock:
                        await work
            finally:
                work.close()  # cancelled before its turn: never started, and no warning about it

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for every task (those started meanwhile too); cancel what is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        await self.cancel()

    async def cancel(self) -> None:
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
