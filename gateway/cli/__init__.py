"""The ``gateway`` command line: parse options, call one library function, print.

Every list command has ``--json``. Library errors become one-line messages
and exit code 1; bad usage exits 2 (click's convention).

Each command imports what it uses (the library, asyncio, Rich) inside its function, so
``gateway --help`` and a quick ``gateway tickets list`` do not pay for the rest.
"""

from __future__ import annotations

import click

from gateway import __version__
from gateway.cli.common import CONTEXT, Group


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="gateway")
def main() -> None:
    """Offline-first SMS fallback gateway: customers text short codes to a bank of GSM
    modems; each becomes a ticket with a reference and an immediate reply in the
    customer's language.

    Try it without hardware: gateway demo
    """


def _register() -> None:
    """Every command group, from its own module (each imports only click at the top)."""
    from gateway.cli import broadcast, config, contacts, crm, ops, outbound, run, sims, templates, tickets

    for module in (run, tickets, outbound, sims, crm, contacts, templates, broadcast, ops, config):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
