"""``gateway modems|ussd``: the SIMs as the running daemon sees them, and USSD through it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.command(context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def modems(config: config_mod.Config, as_json: bool) -> None:
    """Each SIM as the running daemon sees it: state (ready / quarantined / down, and why),
    signal, operator, SMS sent today of its daily quota, messages waiting for it, last
    error, balance.

    Example: gateway modems --json
    """
    import asyncio

    from gateway.cli.output import DataTable
    from gateway.lockfile import daemon_running
    from gateway.sims.operations import sim_statuses

    rows = asyncio.run(sim_statuses(config))
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no SIM status yet: start the daemon (gateway run)", err=True)
        return
    table = DataTable("sim", "state", "signal", "operator", "sent today", "waiting", "storage", "balance", "last error")
    for r in rows:
        state = r["state"] + (f" ({r['reason']})" if r["reason"] and r["state"] != "ready" else "")
        signal = "" if r["signal"] is None else f"{r['signal']}/31"
        storage = "" if r["storage_total"] is None else f"{r['storage_used']}/{r['storage_total']}"
        balance = "" if r["balance"] is None else f"{r['balance']} {r['balance_currency'] or ''}".strip()
        if r["low_balance"]:
            balance += " LOW"
        sent = f"{r['sent_today']}/{r['per_day']}"
        table.add_row(r["modem_id"], state, signal, r["operator"] or "", sent, str(r["queued"] or 0), storage,
                      balance, r["last_error"] or "")  # fmt: skip
    out = console()
    out.print(table)
    if not daemon_running(config):
        out.print("[yellow]no daemon is running on this database: these figures are from when one last ran[/yellow]")
    elif any(r["stale"] for r in rows):
        out.print("[yellow]some figures are old: the daemon has not published them for a minute[/yellow]")


@click.command(context_settings=CONTEXT)
@with_config
@click.argument("sim")
@click.argument("code", required=False)
@click.option("--reply", "reply", help="Answer the open USSD menu with this.")
@click.option("--cancel", is_flag=True, help="End the open USSD session.")
@click.option("--timeout", type=click.FloatRange(1, 300), default=60.0, show_default=True, help="Seconds to wait.")
def ussd(
    config: config_mod.Config, sim: str, code: str | None, reply: str | None, cancel: bool, timeout: float
) -> None:
    """Send a USSD request on one SIM through the running daemon and print the answer.

    Example: gateway ussd m1 "*140#"   then, to a menu: gateway ussd m1 --reply 1
    """
    if [code is not None, reply is not None, cancel].count(True) != 1:
        raise click.UsageError("give a CODE to dial, or --reply TEXT, or --cancel")
    kind, text = ("cancel", "") if cancel else ("reply", reply) if reply is not None else ("dial", code)
    import asyncio

    from gateway.sims.operations import ussd as ask

    row = asyncio.run(ask(config, sim, text or "", kind, timeout))
    if row.response:
        click.echo(row.response)
    if row.session_open:
        click.echo(f"(the network waits for an answer: gateway ussd {sim} --reply ...)", err=True)


COMMANDS = (modems, ussd)
