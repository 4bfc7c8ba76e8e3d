"""``GET /api/v1/events``: the event journal (:mod:`gateway.store.events`) as Server-Sent Events,
for any signed-in role (``events.read``).

Each event is ``id: EVENT_ID``, ``event: TYPE`` and ``data:`` the very body a webhook gets
(``{"id", "type", "created_at", "data"}``). A stream starts with the events journalled after
it opened, or after the event a reconnecting client names in ``Last-Event-ID`` (none lost,
none repeated: the journal is read from there, then the live feed with what was sent skipped);
``?types=`` keeps only some types.

One :class:`Feed` per process reads the journal every :data:`POLL` seconds, one query for
every open stream, and hands each stream the events it asked for; a stream writes what it
was handed as one chunk. A stream that falls :data:`BACKLOG_MAX` events behind (a client that
does not read) is ended: it reconnects with ``Last-Event-ID`` and reads on from the journal.
A comment every :data:`KEEP_ALIVE` seconds keeps proxies from closing a quiet stream; every
:data:`RECHECK` seconds the stream's token or session is checked again (a revoked token's
stream ends). Streams end at once when the server stops (:func:`stop_streams`, which
``gateway serve`` calls before uvicorn waits for open requests), and when the client goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from gateway.access.principal import Principal
from gateway.exceptions import GatewayError
from gateway.web.auth import need, signed_in, store_of
from gateway.web.problems import Problem

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gateway.store import Store
    from gateway.store.rows_events import EventRow

log = structlog.get_logger(__name__)

router = APIRouter(tags=["events"])

POLL = 0.25  # seconds between two reads of the journal (a customer's SMS is on the stream well within 1 s)
PAGE = 500  # events read at once (a full page is followed by the next at once)
KEEP_ALIVE = 15.0  # seconds of quiet before a comment line
RECHECK = 60.0  # seconds between two checks that the stream's principal may still read it
BACKLOG_MAX = 10_000  # events handed to a stream and not yet written: more, and the stream ends
RETRY_MS = 2000  # what EventSource waits before it reconnects
OPENING = f"retry: {RETRY_MS}\n: gateway events\n\n".encode()
KEEP_ALIVE_LINE = b": keep-alive\n\n"


def frame(event: EventRow) -> bytes:
    """One event as SSE: its id, its type and the webhook body as ``data:`` (one line: JSON)."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event.id.encode(), event.type.encode(), event.body())


class Stream:
    """One client's share of the feed: the events of its types, waiting to be written."""

    def __init__(self, types: frozenset[str] | None) -> None:
        self.types = types
        self.waiting: list[tuple[int, bytes]] = []
        self.ready = asyncio.Event()
        self.ended: str | None = None  # why the stream is over: stopping, behind, signed out, failed

    def hand(self, seq: int, kind: str, data: bytes) -> None:
        if self.ended is not None or (self.types is not None and kind not in self.types):
            return
        self.waiting.append((seq, data))
        if len(self.waiting) > BACKLOG_MAX:
            self.end("behind")
        self.ready.set()

    def end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why
            self.waiting.clear()
        self.ready.set()

    def take(self) -> list[tuple[int, bytes]]:
        taken, self.waiting = self.waiting, []
        self.ready.clear()
        return taken


class Feed:
    """The journal read once per tick for every open stream of this process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.streams: set[Stream] = set()
        self.seq = 0  # the last event handed out
        self.polls = 0  # journal reads so far (the tests count them)
        self.stopping = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def join(self, stream: Stream) -> None:
        """Hand ``stream`` every event journalled from now on (and perhaps some before)."""
        if self.stopping:
            stream.end("stopping")
            return
        if self._task is None or self._task.done():
            self.seq = await self.store.last_event_seq()
            self._task = asyncio.create_task(self._run(), name="event-feed")
        self.streams.add(stream)

    def leave(self, stream: Stream) -> None:
        self.streams.discard(stream)

    def stop(self) -> None:
        """End every stream now, and any that comes later."""
        self.stopping = True
        for stream in list(self.streams):
            stream.end("stopping")
        self._wake.set()

    async def _run(self) -> None:
        """Read the journal while anyone listens; should it fail unexpectedly, the streams end
        (their clients reconnect with ``Last-Event-ID`` and lose nothing) rather than go quiet."""
        try:
            await self._poll()
        except Exception:
            log.exception("event_feed_failed")
            for stream in list(self.streams):
                stream.end("failed")

    async def _poll(self) -> None:
        while self.streams and not self.stopping:
            try:
                events = await self.store.events_after(self.seq, None, PAGE)
            except GatewayError as exc:  # the database busy: the next tick reads from the same place
                log.warning("event_feed_read_failed", error=str(exc))
                events = []
            self.polls += 1
            for event in events:
                data = frame(event)
                for stream in list(self.streams):
                    stream.hand(event.seq, event.type, data)
            if events:
                self.seq = events[-1].seq
            if len(events) < PAGE:
                try:
                    async with asyncio.timeout(POLL):
                        await self._wake.wait()
                except TimeoutError:
                    pass


def feed_of(request: Request) -> Feed:
    """The process's feed (made with the first stream)."""
    state = request.app.state
    feed: Feed | None = getattr(state, "event_feed", None)
    if feed is None:
        feed = state.event_feed = Feed(store_of(request))
        feed.stopping = getattr(state, "event_feed_stopped", False)
    return feed


def stop_streams(app: FastAPI) -> None:
    """End the open event streams: called when the server is asked to stop."""
    feed: Feed | None = getattr(app.state, "event_feed", None)
    app.state.event_feed_stopped = True
    if feed is not None:
        feed.stop()


def parse_types(types: str | None) -> frozenset[str] | None:
    from gateway.exceptions import WebhookError
    from gateway.hooks.rules import parse_events

    if types is None:
        return None
    try:
        return frozenset(parse_events(types))
    except WebhookError as exc:
        raise Problem(422, f"types: {exc}", field="types") from None


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def events(
    request: Request,
    who: Annotated[Principal, Depends(need("events.read"))],
    types: Annotated[str | None, Query(description="comma-separated event types; all when absent")] = None,
    last_event_id: Annotated[str | None, Header(description="resume after this event (EventSource sends it)")] = None,
) -> StreamingResponse:
    """The journal's events as they happen: ``event: TYPE``, ``id: EVENT_ID``, ``data:`` the
    webhook body. ``Last-Event-ID``: those after that event first (422 when the journal no
    longer holds it: purged after ``[retention] outbox_days``, or not an id of this gateway)."""
    wanted = parse_types(types)
    store = store_of(request)
    start: int | None = None
    if last_event_id is not None and last_event_id.strip():
        start = await store.event_seq(last_event_id.strip())
        if start is None:
            raise Problem(
                422, "Last-Event-ID: the journal holds no such event (purged, or not from this gateway): "
                "connect without it to start from now", field="Last-Event-ID",
            )  # fmt: skip
    feed = feed_of(request)
    log.info("event_stream_opened", who=who.name, kind=who.kind, types=types, resumed=last_event_id is not None)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    body = _write(request, feed, Stream(wanted), start)
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def _write(request: Request, feed: Feed, stream: Stream, start: int | None) -> AsyncIterator[bytes]:
    """The stream's body: joined to the feed here, so that it always leaves it (a client gone
    before its first byte included)."""
    checked = time.monotonic()
    try:
        await feed.join(stream)  # before the journal is read: what is journalled meanwhile is handed too
        sent = start if start is not None else await feed.store.last_event_seq()
        yield OPENING
        wanted = sorted(stream.types) if stream.types is not None else None
        while stream.ended is None:  # first what the journal holds after ``start``
            page = await feed.store.events_after(sent, wanted, PAGE)
            if page:
                sent = page[-1].seq
                yield b"".join(frame(e) for e in page)
            if len(page) < PAGE:
                break
        while stream.ended is None:  # then the feed, without what was sent already
            if not stream.waiting:
                try:
                    async with asyncio.timeout(KEEP_ALIVE):
                        await stream.ready.wait()
                except TimeoutError:
                    yield KEEP_ALIVE_LINE
                if time.monotonic() - checked > RECHECK:
                    checked = time.monotonic()
                    if not await _still_allowed(request):
                        stream.end("signed out")
                continue
            fresh = [(seq, data) for seq, data in stream.take() if seq > sent]
            if fresh:
                sent = fresh[-1][0]
                yield b"".join(data for _, data in fresh)
    finally:
        feed.leave(stream)
        log.info("event_stream_closed", why=stream.ended or "client")


async def _still_allowed(request: Request) -> bool:
    """Is the stream's token (or session) still good, and may its role still read events?"""
    try:
        who = await signed_in(request)
    except Problem:
        return False
    return who.may("events.read")
