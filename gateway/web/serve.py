"""Running the API on uvicorn (``gateway serve``): the listen address, TLS, the proxies whose
X-Forwarded-For is believed, and a stop that is bounded (SIGTERM from systemd, Ctrl-C)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from gateway.config import parse_listen

if TYPE_CHECKING:
    import socket

    import uvicorn

    from gateway.config import Config

log = structlog.get_logger(__name__)

STOP_GRACE = 10  # seconds open requests (an event stream) get to finish when asked to stop


def server_for(config: Config, *, listen: str | None = None) -> uvicorn.Server:
    """A uvicorn server for the API of ``config`` (``listen`` overrides ``[web] listen``)."""
    import uvicorn

    from gateway.web.app import create_app
    from gateway.web.events import stop_streams

    app = create_app(config)
    web = config.web
    host, port = parse_listen(listen or web.listen, "[web] listen", "web.listen")
    proxies = [p.strip() for p in web.proxies.split(",") if p.strip()]
    tls = {}
    if web.tls_cert and web.tls_key:
        tls = {"ssl_certfile": str(config.resolve(web.tls_cert)), "ssl_keyfile": str(config.resolve(web.tls_key))}
    settings = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,  # no version to fingerprint
        date_header=True,
        access_log=False,  # our own log lines mask numbers; uvicorn's would print query strings
        log_config=None,  # structlog (gateway.logs) is the only logger set up
        timeout_graceful_shutdown=STOP_GRACE,
        lifespan="on",
        **tls,  # type: ignore[arg-type]
    )

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # an event stream never ends by itself: end them first, or the stop waits STOP_GRACE
            stop_streams(app)
            await super().shutdown(sockets)

    return Server(settings)


def bound_address(server: uvicorn.Server) -> tuple[str, int]:
    """Where a started server listens (port 0 in the config takes a free one)."""
    sockets = [s for srv in server.servers for s in srv.sockets]
    host, port = sockets[0].getsockname()[:2]
    return str(host), int(port)
