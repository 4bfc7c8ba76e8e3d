"""``gateway backup|export``: what a sysadmin needs to keep the data safe."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, LazyChoice, with_config

if TYPE_CHECKING:
    from datetime import datetime

    from gateway import config as config_mod


@click.command("backup", context_settings=CONTEXT)
@with_config
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup(config: config_mod.Config, path: Path, force: bool) -> None:
    """Copy the database to PATH: a consistent snapshot, safe while the daemon runs,
    checked before it is kept. Restore by stopping the daemon and copying it back.

    Example: gateway backup /var/backups/sms-gateway/gateway-$(date +%F).db
    """
    from gateway.ops.maintenance import backup as make_backup

    report = make_backup(config, path, force=force)
    rows = ", ".join(f"{n} {table}" for table, n in report.rows.items())
    click.echo(f"backup written to {report.path} ({report.size / 1e6:.1f} MB, schema {report.schema_version}): {rows}")


@click.group(cls=Group, context_settings=CONTEXT)
def export() -> None:
    """Data out of the gateway by hand, for when the link to the CRM never returns."""


@export.command("tickets", context_settings=CONTEXT)
@with_config
@click.option("--csv", "fmt", flag_value="csv", default=True, help="CSV with a header row (the default).")
@click.option("--json", "fmt", flag_value="json", help="A JSON list of ticket objects.")
@click.option("--since", help="Only tickets received in this past time, e.g. 2d, 12h.")
@click.option("--sync", "sync_status", type=LazyChoice("gateway.store.sync", "SYNC_STATES"),
              help="Only tickets in this CRM sync state (queued: the CRM does not have them yet).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def export_tickets_command(
    config: config_mod.Config, fmt: str, since: str | None, sync_status: str | None, out: Path | None
) -> None:
    """Tickets as CSV or JSON, oldest first, with every field the CRM receives. Importing
    them into the CRM by hand is safe: ids are global, and a later sync is answered duplicate.

    Example: gateway export tickets --sync queued --out /media/usb/tickets.csv
    """
    from gateway.cli.common import parse_duration
    from gateway.ops.maintenance import export_tickets
    from gateway.store import files as private_files
    from gateway.store import utcnow

    start: datetime | None = utcnow() - parse_duration(since) if since else None
    if out is None:
        n = export_tickets(config, sys.stdout, fmt=fmt, since=start, sync=sync_status)
    else:
        with private_files.open_for_writing(out, config.storage.group or None, encoding="utf-8", newline="") as f:
            n = export_tickets(config, f, fmt=fmt, since=start, sync=sync_status)
    click.echo(f"{n} ticket(s) exported" + (f" to {out}" if out else ""), err=True)


@click.command("stats", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(config: config_mod.Config, as_json: bool) -> None:
    """The numbers the Prometheus endpoint serves: SMS received and sent per SIM and lane,
    failed send attempts by SIM and +CMS/+CME code, queues, tickets by category, CRM sync backlog, each SIM's
    signal, quota and balance. No phone number or message appears.

    Example: gateway stats --json
    """
    from gateway.cli.common import console, echo_json
    from gateway.cli.output import DataTable, styled
    from gateway.ops.stats import snapshot
    from gateway.store.database_file import DatabaseFile

    snap = snapshot(DatabaseFile(config.database_path, config.storage.busy_timeout))
    if as_json:
        echo_json(snap.as_json())
        return
    out = console()
    out.print(styled("[bold]received[/bold]  {}", ", ".join(f"{s}: {n}" for s, n in snap.received.items())))
    table = DataTable("SIM", "lane", "status", "messages", title="outbox")
    for r in snap.outbox:
        table.add_row(r["sim"] or "-", r["lane"], r["status"], str(r["messages"]))
    out.print(table)
    queue = ", ".join(f"{lane} {n}" for lane, n in snap.queue.items())
    out.print(styled("[bold]queue[/bold]  {}; oldest {} s", queue, f"{snap.oldest_queued_s or 0:.0f}"))
    out.print(styled("[bold]tickets[/bold]  {}", ", ".join(f"{c}: {n}" for c, n in snap.tickets.items())))
    if snap.send_errors:
        out.print(styled("[bold]send errors[/bold]  {}", ", ".join(
            f"{e['sim'] or '-'} {'code ' + e['code'] if e['code'] != 'none' else 'no code'}: {e['errors']}"
            for e in snap.send_errors)))  # fmt: skip
    sync = snap.sync
    out.print(styled("[bold]CRM[/bold]  link {}, {} queued, {} synced, {} rejected", sync["link"], sync["queued"],
                     sync["synced"], sync["rejected"]))  # fmt: skip
    sims = DataTable("SIM", "state", "signal", "quota left", "balance", title="SIMs")
    for s in snap.sims:
        sims.add_row(s["sim"], s["state"], str(s["signal"] if s["signal"] is not None else "-"),
                     str(s["quota_left_today"] if s["quota_left_today"] is not None else "-"),
                     "" if s["balance"] is None else f"{s['balance']:g} {s['balance_currency'] or ''}")  # fmt: skip
    out.print(sims)


@click.command("doctor", context_settings=CONTEXT)
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="GATEWAY_CONFIG", help="gateway.toml to check [env: GATEWAY_CONFIG].")  # fmt: skip
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="GATEWAY_DB",
              help="SQLite database, overriding the config [env: GATEWAY_DB].")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def doctor(config_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Check, in order, that the gateway can serve: the config; the database (writable, WAL,
    disk space); each modem (port, ModemManager, AT, SIM PIN, network, signal, SMS centre,
    storage, balance); the CRM. One line each, with the fix for anything wrong. Exit 0
    when the gateway can serve (at least one modem ready).

    Example: gateway doctor -c /etc/sms-gateway/gateway.toml
    """
    from gateway.cli.common import echo_json
    from gateway.ops.doctor import Check, run

    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}

    def show(check: Check) -> None:
        if as_json:
            return
        click.echo(f"{marks[check.status]}  {check.subject:<10} {check.name:<12} {check.detail}")
        if check.fix:
            click.echo(f"{'':<30}fix: {check.fix}")

    report = run(config_path, db, on_check=show)
    if as_json:
        echo_json(report.as_json())
    else:
        click.echo("the gateway can serve" if report.can_serve else "the gateway cannot serve: see FAIL lines above")
    sys.exit(0 if report.can_serve else 1)


COMMANDS = (backup, export, stats, doctor)
