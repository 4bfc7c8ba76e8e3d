"""``gateway demo|run|simulate``: the daemon, and the gateway without hardware."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.command(context_settings=CONTEXT)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gateway-demo"),
    show_default=True,
    help="Where the demo's database and logs go (emptied first).",
)
def demo(directory: Path) -> None:
    """Run the whole gateway on an emulated SIM bank: customers text codes in English,
    Persian and Arabic, tickets open, replies go out; then a summary checked against
    the database. Exits 0 when everything matched.

    Example: gateway demo --dir /tmp/gw-demo
    """
    import asyncio

    from gateway.cli.demo import run_demo

    sys.exit(asyncio.run(run_demo(directory, console())))


@click.command(context_settings=CONTEXT)
@with_config
@click.option(
    "--simulate", type=click.IntRange(1, 64), metavar="N", help="Run on N emulated modems instead of [[modems]]."
)
def run(config: config_mod.Config, simulate: int | None) -> None:
    """Run the gateway daemon in the foreground until Ctrl-C (or SIGTERM).

    Example: gateway run -c /etc/sms-gateway/gateway.toml

    Example without hardware: gateway run --simulate 4, then in another terminal
    gateway simulate sms --from +989121234567 "1 48213"
    """
    import asyncio

    from gateway import logs
    from gateway.daemon import Daemon, bank_for
    from gateway.dev.simulation import simulated_config, start_simulated_bank

    lg = config.logging
    logs.configure(level=lg.level, fmt=lg.format, privacy=lg.log_privacy, file=lg.file or None)
    emulators = None
    if simulate:
        emulators, _socket_path = start_simulated_bank(config, simulate)
        config = simulated_config(config, emulators)
        click.echo(f"Simulated SIM bank: {simulate} modems ({', '.join(m.port for m in config.modems)})", err=True)
        click.echo(
            f'Text it from another terminal: gateway simulate sms --from +989121234567 "1 48213"'
            f"{'' if config.database_path == Path('gateway.db').resolve() else ' --db ' + str(config.database_path)}",
            err=True,
        )
    elif not config.modems:
        raise click.ClickException(
            "no modems configured: add [[modems]] entries (id, port, baudrate) to your gateway.toml "
            "and pass it with -c, or try it with --simulate 4"
        )
    click.echo(f"Database: {config.database_path}. Stop with Ctrl-C.", err=True)
    try:
        asyncio.run(Daemon(config, bank_for(config)).run_forever())
    except KeyboardInterrupt:
        pass
    finally:
        if emulators is not None:
            emulators.stop()


# ---------------------------------------------------------------- simulate


@click.group(cls=Group, context_settings=CONTEXT)
def simulate() -> None:
    """Act as customers and the network towards a running `gateway run --simulate N`."""


@simulate.command("sms", context_settings=CONTEXT)
@with_config
@click.option("--from", "sender", required=True, help="The customer's number (+E.164) or an alphanumeric sender.")
@click.option("--modem", help="Which simulated modem receives it (default: the next one in turn).")
@click.argument("text")
def simulate_sms(config: config_mod.Config, sender: str, modem: str | None, text: str) -> None:
    """Text the gateway as a customer would (long texts arrive as several parts).

    Example: gateway simulate sms --from +989121234567 "قطع ۴۸۲۱۳"
    """
    from gateway.dev.simulation import simulate_sms

    answer = simulate_sms(config, sender, text, modem)
    click.echo(f"delivered to {answer['modem']} as {answer['parts']} part(s)")


@simulate.command("bank", context_settings=CONTEXT)
@click.option("--modems", "count", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where the modems' stable links (m1, m2, ...) go.")  # fmt: skip
@click.option("--latency", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds each send takes on air.")  # fmt: skip
@click.option("--control", type=click.Path(dir_okay=False, path_type=Path), help="Control socket path.")
@click.option("--first", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Number of the first modem (m3 with --first 3): several banks side by side.")  # fmt: skip
def simulate_bank(count: int, directory: Path, latency: float, control: Path | None, first: int) -> None:
    """Run emulated modems on their own, until Ctrl-C: point [[modems]] at their links.
    Being a separate process, they outlive a gateway that is killed and restarted.

    Example: gateway simulate bank --modems 4 --dir /tmp/sim --latency 2
    """
    import signal

    from sim_bank.simulator import EmulatorBank

    bank = EmulatorBank(count, directory, send_latency=latency, first=first).start()
    socket_path = control or directory / "control.sock"
    bank.serve(socket_path)
    for emu in bank.emulators:
        click.echo(f"{emu.modem_id} {emu.link} {emu.own_number}")
    click.echo(f"control {socket_path}", err=True)
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop:
            signal.pause()
    finally:
        bank.stop()


@simulate.command("sent", context_settings=CONTEXT)
@with_config
@click.option("--modem", help="Only this simulated modem.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def simulate_sent(config: config_mod.Config, modem: str | None, as_json: bool) -> None:
    """What the simulated modems were asked to send, decoded from the PDUs.

    Example: gateway simulate sent --json
    """
    from gateway.cli.output import DataTable
    from gateway.dev.simulation import simulated_sent

    messages = simulated_sent(config, modem)
    if as_json:
        echo_json(messages)
        return
    table = DataTable("modem", "to", "parts", "text")
    for m in messages:
        table.add_row(m["modem"], m["number"], str(m["parts"]), m["text"])
    console().print(table)


COMMANDS = (demo, run, simulate)
