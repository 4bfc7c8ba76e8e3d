"""``gateway serve``: the HTTP API beside the daemon (docs/api.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.command("serve", context_settings=CONTEXT)
@with_config
@click.option("--listen", help='Where to listen, overriding [web] listen: "8080" (127.0.0.1) or "HOST:PORT".')
def serve(config: config_mod.Config, listen: str | None) -> None:
    """Serve the HTTP API (and the console) on [web] listen, 127.0.0.1:8080 unless configured.

    A process of its own beside `gateway run`: they share only the database. Systems sign in
    with a token (gateway tokens create NAME --role integration) as "Authorization: Bearer
    TOKEN"; people with their password at POST /api/v1/session (docs/api.md). Logs
    serve_listening with its URL once it listens. Stops on Ctrl-C or SIGTERM, letting open
    requests finish for a few seconds.

    Example: gateway serve -c /etc/sms-gateway/gateway.toml
    """
    from gateway import logs
    from gateway.web.serve import listening_socket, load_tls, server_for

    lg = config.logging
    logs.configure(level=lg.level, fmt=lg.format, privacy=lg.log_privacy, file=lg.file or None)
    server = server_for(config, listen=listen)
    load_tls(server, config)  # a certificate that cannot be used: one line, exit 1
    sock = listening_socket(config, listen=listen)  # an address in use: one line, exit 1
    import structlog

    log = structlog.get_logger("gateway.web")
    log.info("serve_starting", database=str(config.database_path), tls=server.config.is_ssl)
    # serve_listening follows with the address (the port, with port 0); uvicorn ends the
    # process with the signal that stopped it, after the app closed the database
    server.run(sockets=[sock])


COMMANDS = [serve]
