"""``gateway sync|crm-stub``: CRM sync (store-and-forward of tickets), and a reference CRM to try it on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
def sync() -> None:
    """Store-and-forward of tickets to the main CRM (protocol: docs/crm-sync.md)."""


@sync.command("status", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sync_status(config: config_mod.Config, as_json: bool) -> None:
    """Link state, last success, tickets queued / synced / rejected, oldest unsynced age, and the
    desk's changes (events) pending / rejected.

    Example: gateway sync status --json
    """
    import asyncio

    from gateway.cli.output import print_fields
    from gateway.crm.operations import sync_status as status
    from gateway.lockfile import daemon_running

    info = asyncio.run(status(config))
    elsewhere = not info["crm_url"] and info["last_success_at"]
    if elsewhere:  # a database synced before, read with a config without [crm] url (e.g. no -c)
        info["link"] = "unknown"
    if as_json:
        echo_json(info)
        return
    out = console()
    age = info["oldest_queued_age_s"]
    crm = info["crm_url"] or "not configured ([crm] url)"
    if elsewhere:
        crm = (
            f"unknown: this config has no [crm] url ({config.path or 'built-in defaults'}), but this database "
            "was synced to a CRM: give the daemon's config with -c (or GATEWAY_CRM_URL)"
        )
    rows = {
        "CRM": crm,
        "link": f"{info['link']}" + (f" since {info['link_since'][:19]}" if info["link_since"] else ""),
        "last success": (info["last_success_at"] or "never")[:19],
        "last error": info["last_error"] or "",
        "next attempt": (info["next_attempt_at"] or "")[:19],
        "queued": f"{info['queued']}" + (f" (oldest {_age(age)} old)" if age is not None else ""),
        "synced": str(info["synced"]),
        "rejected": str(info["rejected"]) + (" -- gateway tickets list --sync rejected" if info["rejected"] else ""),
        "events": f"{info['events_pending']} pending, {info['events_rejected']} rejected"
        + (" -- gateway sync retry-rejected" if info["events_rejected"] else ""),
        "syncing": info["syncing"]
        or ("nobody now" if daemon_running(config) else "nobody: no daemon is running (gateway run)"),
    }
    print_fields(out, rows, 13)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@sync.command("now", context_settings=CONTEXT)
@with_config
@click.option("--timeout", type=click.FloatRange(1, 86400), default=300.0, show_default=True,
              help="Seconds to wait for a running daemon to finish.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync_now(config: config_mod.Config, timeout: float, as_json: bool) -> None:
    """Push every queued ticket and pull the CRM's updates, now, with a progress bar.
    Works with or without the daemon (a running daemon is asked to do it).

    Example: gateway sync now -c gateway.toml
    """
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gateway import logs
    from gateway.cli.common import stderr_console
    from gateway.crm.operations import report_json
    from gateway.crm.operations import sync_now as now

    logs.configure(level="warning", fmt="console")
    with Progress(
        TextColumn("tickets to the CRM"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=stderr_console(), disable=as_json or not sys.stderr.isatty(),
    ) as progress:  # fmt: skip
        task = progress.add_task("push", total=None)
        report, by = asyncio.run(
            now(
                config,
                on_total=lambda n: progress.update(task, total=n),
                on_progress=lambda n: progress.advance(task, n),
                timeout=timeout,
            )
        )
    if as_json:
        echo_json(report_json(report, by))
        return
    who = "" if by == "here" else f" (by the running daemon, {by})"
    click.echo(
        f"synced {report.synced}, rejected {report.rejected}; "
        f"{report.updates} update(s) from the CRM, {report.notices} customer(s) notified; "
        f"{report.events_sent} desk change(s) sent, {report.events_rejected} rejected{who}"
    )


@sync.command("retry-rejected", context_settings=CONTEXT)
@with_config
@click.argument("refs", nargs=-1)
def sync_retry_rejected(config: config_mod.Config, refs: tuple[str, ...]) -> None:
    """Queue tickets the CRM rejected again (all, or the REFs given), after fixing the cause,
    with the desk's changes (events) the CRM rejected (all, or the REFs' tickets').

    Example: gateway sync retry-rejected 12-000345
    """
    import asyncio

    from gateway.crm.operations import retry_rejected

    n, events = asyncio.run(retry_rejected(config, refs))
    click.echo(f"{n} ticket(s) queued again for the CRM" + (f", and {events} desk change(s)" if events else ""))
    if refs and n == 0 and events == 0:
        raise click.ClickException("none of these tickets is rejected")


@click.command("crm-stub", context_settings=CONTEXT)
@with_config
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("crm-stub.db"),
              show_default=True, help="The stub's own SQLite file.")  # fmt: skip
def crm_stub(config: config_mod.Config, host: str, port: int, store_path: Path) -> None:
    """A reference CRM receiver for protocol v1, to try sync end to end: checks the token
    and signature of [crm], keeps each ticket once, serves updates. Runs until Ctrl-C.

    Example: gateway crm-stub --port 8080 -c gateway.toml, then set [crm] url =
    "http://127.0.0.1:8080" and run gateway sync now. Resolve a ticket with
    curl -d '{"id": "12-000001", "status": "resolved", "notify": true}' http://127.0.0.1:8080/_stub/updates
    """
    from gateway import logs
    from gateway.crm.receiver import CrmStub

    logs.configure(level="info", fmt="console")
    stub = CrmStub(store_path, host=host, port=port, token=config.crm.token, secret=config.crm.secret)
    click.echo(f"CRM stub on http://{host}:{port} (store {store_path}; "
               f"{'signatures checked' if config.crm.secret else 'no secret: signatures not checked'}). "
               "Ctrl-C stops it.", err=True)  # fmt: skip
    try:
        stub.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stub.close()


COMMANDS = (sync, crm_stub)
