"""The CRM over HTTP (httpx): push a batch, pull updates, probe health.

Each call signs its request (:mod:`gateway.crm.protocol`) and translates
transport failures into :mod:`gateway.exceptions` at this edge: the sync loop
sees :class:`CrmUnreachable` (no answer: the link is down) or an answer to
classify. Neither the token, the secret nor a request body ever reaches a log
line or an exception message.

``[crm] timeout`` bounds each request as a whole -- connecting, sending and reading
the entire answer. httpx's own timeouts apply to each read, so a CRM that trickles
its answer a byte at a time would otherwise hold a request (and the sync lease) for
as long as it likes. An answer larger than :data:`MAX_ANSWER_BYTES` is not read.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from gateway.config import CrmConfig
from gateway.crm import protocol
from gateway.exceptions import CrmBadAnswer, CrmError, CrmUnreachable

USER_AGENT = "sms-fallback-gateway/0.1 (crm-sync v1)"
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a page of `limit` updates is far smaller; more is a CRM ignoring `limit`


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: httpx.Headers


class CrmClient:
    """One CRM, one connection pool. Use as ``async with CrmClient(config, site) as crm``."""

    def __init__(
        self,
        config: CrmConfig,
        site: str,
        *,
        ca_file: Path | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.site = site
        self._clock = clock
        verify = tls_verify(ca_file)
        self._http = httpx.AsyncClient(
            base_url=config.url.rstrip("/"),
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,  # a redirect means a wrong url: say so rather than re-post elsewhere
            verify=verify,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    async def __aenter__(self) -> CrmClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def push(self, batch_id: str, body: bytes) -> HttpAnswer:
        """``POST /tickets`` with ``body`` exactly as stored for this batch."""
        return await self._request("POST", "/tickets", body, batch_id=batch_id)

    async def push_events(self, batch_id: str, body: bytes) -> HttpAnswer:
        """``POST /ticket-events``: the desk's changes, under the batch's Idempotency-Key."""
        return await self._request("POST", "/ticket-events", body, batch_id=batch_id)

    async def push_outages(self, batch_id: str, body: bytes) -> HttpAnswer:
        """``POST /outages``: outages and their stages, under the batch's Idempotency-Key."""
        return await self._request("POST", "/outages", body, batch_id=batch_id)

    async def updates(self, cursor: str | None, limit: int) -> protocol.UpdatesPage:
        """``GET /updates?site=..&since=..&limit=..``. Raises :class:`CrmBadAnswer` for a non-2xx
        or unreadable page (the cursor must then stay where it is)."""
        params = {"site": self.site, "since": cursor or "", "limit": str(limit)}
        answer = await self._request("GET", "/updates", b"", params=params)
        if not 200 <= answer.status < 300:
            raise CrmBadAnswer(
                f"GET /updates: HTTP {answer.status}",
                answer.status,
                protocol.retry_after_seconds(
                    answer.headers.get("retry-after"), datetime.fromtimestamp(self._clock(), UTC)
                ),
            )
        try:
            if len(answer.body) < 1024 * 1024:
                return protocol.read_updates(answer.body)
            # a CRM that ignores `limit`: parse off the event loop, which serves SMS intake
            return await asyncio.to_thread(protocol.read_updates, answer.body)
        except ValueError as exc:
            raise CrmBadAnswer(f"GET /updates: {exc}", answer.status) from None

    async def health(self) -> bool:
        """Whether ``GET /health`` gets any HTTP answer: then the network path works, and the
        push itself says whether the CRM takes tickets (a proxy answering 404 or 401 on
        /health must not keep the link "down" for good)."""
        try:
            await self._request("GET", "/health", b"")
        except CrmUnreachable:
            return False
        return True

    async def _request(
        self, method: str, path: str, body: bytes, *, batch_id: str | None = None, params: dict[str, str] | None = None
    ) -> HttpAnswer:
        headers = protocol.request_headers(
            token=self.config.token, secret=self.config.secret, body=body, now=self._clock(), batch_id=batch_id
        )
        if method == "GET":
            headers.pop("Content-Type")
        try:
            async with asyncio.timeout(self.config.timeout):  # the whole request, the answer's last byte included
                return await self._exchange(method, path, body, headers, params)
        except (TimeoutError, httpx.TimeoutException):
            raise CrmUnreachable(f"{method} {path}: no whole answer within {self.config.timeout:g} s") from None
        except (httpx.LocalProtocolError, UnicodeEncodeError):  # the request itself: never quote it (the token)
            raise CrmError(f"{method} {path}: the request could not be built; check [crm] token and url") from None
        except httpx.TransportError as exc:  # refused, reset, DNS, TLS, proxy
            raise CrmUnreachable(f"{method} {path}: {type(exc).__name__}: {_reason(exc)}") from None

    async def _exchange(
        self, method: str, path: str, body: bytes, headers: dict[str, str], params: dict[str, str] | None
    ) -> HttpAnswer:
        request = self._http.build_request(method, path, content=body or None, headers=headers, params=params)
        response = await self._http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise CrmBadAnswer(
                        f"{method} {path}: answer larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB; not read",
                        response.status_code,
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        return HttpAnswer(response.status_code, b"".join(chunks), response.headers)


def _reason(exc: Exception) -> str:
    """The transport's reason, without anything from the request (httpx puts no headers here)."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """How httpx checks the CRM's certificate: a private CA bundle, or the system's."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
