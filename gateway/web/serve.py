"""Running the API on uvicorn (``gateway serve``): the listen address, TLS, the proxies whose
X-Forwarded-For is believed, and a stop that is bounded (SIGTERM from systemd, Ctrl-C).

The command binds its socket itself (:func:`listening_socket`) before the app starts, so that
an address in use or not allowed is a one-line error naming ``[web] listen``, and logs where
it listens once it does (``serve_listening``: with port 0, the port it was given)."""

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
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                bound_host, bound_port = bound_address(self)
                scheme = "https" if self.config.is_ssl else "http"
                log.info("serve_listening", url=f"{scheme}://{_url_host(bound_host)}:{bound_port}")

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


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def listening_socket(config: Config, *, listen: str | None = None) -> socket.socket:
    """The socket ``gateway serve`` listens on, bound now: a :class:`ConfigError` naming
    ``web.listen`` when the address is taken, not this host's, or a port only root may use."""
    import errno
    import socket

    from gateway.exceptions import ConfigError

    host, port = parse_listen(listen or config.web.listen, "[web] listen", "web.listen")
    where = "--listen" if listen else str(config.path or "[web] listen")
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP, and without it every answer waits on Nagle and delayed ACKs
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reasons = {
            errno.EADDRINUSE: (
                "is in use by another process",
                "stop it (a gateway serve?) or choose another port",
            ),
            errno.EACCES: ("needs root (ports below 1024)", "listen on 8080 behind a reverse proxy (docs/api.md)"),
            errno.EADDRNOTAVAIL: ("is not an address of this host", "use 127.0.0.1, or an address `ip addr` lists"),
        }
        problem, fix = reasons.get(exc.errno or 0, (exc.strerror or str(exc), "choose another address"))
        raise ConfigError(where, "web.listen", f"{_url_host(host)}:{port} {problem}", fix) from None
    sock.set_inheritable(True)
    return sock


def load_tls(server: uvicorn.Server, config: Config) -> None:
    """Load the server's settings now (the TLS pair above all): a :class:`ConfigError` naming
    ``web.tls_cert`` if the certificate and key cannot be used, before anything starts."""
    import ssl

    from gateway.exceptions import ConfigError

    try:
        server.config.load()
    except (ssl.SSLError, OSError) as exc:
        where = str(config.path or "[web]")
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise ConfigError(
            where, "web.tls_cert", f"the certificate and key cannot be used: {reason}",
            "give a PEM certificate (chain) and its PEM private key, readable by this user",
        ) from None  # fmt: skip
