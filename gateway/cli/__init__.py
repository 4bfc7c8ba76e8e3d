"""The ``gateway`` command line: parse options, call one library function, print.

Every list command has ``--json``. Library errors become one-line messages
and exit code 1; bad usage exits 2 (click's convention).

Each command group lives in its own module, imported when one of its commands runs (or
when ``--help`` lists them all); each command imports what it uses (the library, asyncio,
Rich) inside its function. So ``gateway --help`` and a quick ``gateway tickets list`` do
not pay for the rest.
"""

from __future__ import annotations

import importlib

import click

from gateway import __version__
from gateway.cli.common import CONTEXT, Group

# every command of `gateway`, and the module of gateway.cli that defines it (in its COMMANDS)
COMMANDS = {
    "demo": "run",
    "run": "run",
    "simulate": "run",
    "tickets": "tickets",
    "parse": "tickets",
    "send": "outbound",
    "outbox": "outbound",
    "messages": "messages",
    "thread": "messages",
    "modems": "sims",
    "ussd": "sims",
    "sync": "crm",
    "crm-stub": "crm",
    "contacts": "contacts",
    "groups": "contacts",
    "optouts": "optouts",
    "templates": "templates",
    "broadcast": "broadcast",
    "outage": "outages",
    "backup": "ops",
    "export": "ops",
    "stats": "ops",
    "doctor": "ops",
    "check-config": "config",
    "users": "access",
    "tokens": "access",
    "audit": "access",
    "webhooks": "webhooks",
    "cap": "cap",
    "serve": "web",
}


class LazyGroup(Group):
    """The top-level group: a command's module is imported when the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(f"gateway.cli.{COMMANDS[cmd_name]}")
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="gateway")
def main() -> None:
    """Offline-first SMS fallback gateway: customers text short codes to a bank of GSM
    modems; each becomes a ticket with a reference and an immediate reply in the
    customer's language.

    Try it without hardware: gateway demo
    """
