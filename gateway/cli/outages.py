"""``gateway outage``: declare, update, restore, cancel, list, show, suggest (docs/outages.md).

A stage that notifies shows its plan (as ``gateway broadcast`` does) and asks before sending,
unless ``--yes``; ``--dry-run`` shows it and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gateway.cli.common import CONTEXT, FLAGS, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod
    from gateway.outages import OutageResult
    from gateway.outages.notices import OutageStore

T = TypeVar("T")
NAMES = {**FLAGS, "eta": "--eta", "note": "--note", "area": "--area", "no_notify": "--no-notify",
         "cause": "--cause"}  # fmt: skip


@click.group(cls=Group, context_settings=CONTEXT)
def outage() -> None:
    """Outages: areas, estimated restoration, staged updates, restoration, reports linked.

    Example: gateway outage declare --area North --cause "cable cut" --eta 18:00 --notify
    """


def _run(config: config_mod.Config, work: Callable[[OutageStore], Awaitable[T]], *, create: bool = False) -> T:
    import asyncio

    from gateway.exceptions import OutageError
    from gateway.store.configured import open_store

    async def main() -> T:
        async with await open_store(config, create=create) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except OutageError as exc:
        raise click.ClickException(exc.wording.naming(NAMES)) from None


def _stage(
    config: config_mod.Config,
    change: Callable[[OutageStore, bool], Awaitable[OutageResult]],
    *,
    notify: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Dry run, or (when it notifies and no --yes) the plan shown and agreed, then the change."""
    if dry_run or (notify and not yes):
        planned = _run(config, lambda s: change(s, True), create=True)
        if not as_json or dry_run:
            _show(planned, as_json)
        if dry_run:
            return
        people = sum(n.plan.recipients for n in planned.notices[:1])
        if not click.confirm(f"Make the change and notify {people} recipient(s)?", err=True):
            click.echo("nothing changed", err=True)
            return
    _show(_run(config, lambda s: change(s, False), create=True), as_json)


def _show(result: OutageResult, as_json: bool) -> None:
    from gateway.cli.broadcast import _print_plan
    from gateway.cli.output import styled

    if as_json:
        echo_json(result.as_json(NAMES))
        return
    out = console()
    for n in result.notices:
        _print_plan(n.plan, dry_run=result.dry_run)
        if n.campaign_id is not None:
            out.print(styled("notice {} sent as campaign {}{}", repr(n.template), n.campaign_id,
                             " (with the restoration check)" if n.with_check else ""))  # fmt: skip
    o = result.outage
    if o is not None and not result.dry_run:
        out.print(styled("outage {}: {} in {}; ETR {}", o["id"], o["status"], ", ".join(o["areas"]),
                         o["eta_local"] or "not known"))  # fmt: skip
    elif result.dry_run and not result.notices:
        out.print(styled("Dry run: nothing would be sent (no --notify, or nobody in the areas)"))
    if result.warning:
        click.echo(f"warning: {result.warning}", err=True)


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--dry-run", is_flag=True, help="Show what it would send; change nothing."),
        click.option("--yes", is_flag=True, help="Do not ask for confirmation."),
        click.option("--json", "as_json", is_flag=True, help="Print the outage and its notices as JSON."),
        click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER]."),
    ]):  # fmt: skip
        f = option(f)
    return with_config(f)


@outage.command()
@click.option("--area", "areas", multiple=True, required=True, help="An area out (repeatable): the contacts' area.")
@click.option("--cause", help="What happened, for the record and the CRM.")
@click.option("--eta", help='Estimated restoration: "18:00" (the next 18:00) or "2026-12-03 09:00" (local).')
@click.option("--notify", is_flag=True, help="Send the outage notice to the areas' contacts.")
@_common
def declare(config: config_mod.Config, areas: tuple[str, ...], cause: str | None, eta: str | None, notify: bool,
            dry_run: bool, yes: bool, as_json: bool, actor: str | None) -> None:  # fmt: skip
    """Open an outage of one or more areas.

    Example: gateway outage declare --area North --cause "cable cut" --eta 18:00 --notify --dry-run
    """
    from gateway.cli.ticket_case import actor_name
    from gateway.outages import declare as declare_

    who = actor_name(actor)
    _stage(config, lambda s, dry: declare_(s, config, areas, cause=cause, eta=eta, notify=notify, dry_run=dry,
                                           actor=who),
           notify=notify, dry_run=dry_run, yes=yes, as_json=as_json)  # fmt: skip


@outage.command()
@click.argument("outage_id", type=int)
@click.option("--eta", help='A new estimated restoration: "21:00" or "2026-12-03 09:00" (local).')
@click.option("--note", help="What changed, for the record and the CRM.")
@click.option("--notify", is_flag=True, help="Send the update notice to the areas' contacts and every reporter.")
@_common
def update(config: config_mod.Config, outage_id: int, eta: str | None, note: str | None, notify: bool,
           dry_run: bool, yes: bool, as_json: bool, actor: str | None) -> None:  # fmt: skip
    """A staged update: a new ETR, a note; each person gets each stage once.

    Example: gateway outage update 1 --eta 21:00 --notify --yes
    """
    from gateway.cli.ticket_case import actor_name
    from gateway.outages import update as update_

    who = actor_name(actor)
    _stage(config, lambda s, dry: update_(s, config, outage_id, eta=eta, note=note, notify=notify, dry_run=dry,
                                          actor=who),
           notify=notify, dry_run=dry_run, yes=yes, as_json=as_json)  # fmt: skip


@outage.command()
@click.argument("outage_id", type=int)
@click.option("--check", is_flag=True, help='Add "reply 1 if you still have no service" ([outages] check_window).')
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Send the restored notice to the areas' contacts and every reporter.")  # fmt: skip
@click.option("--note", help="A note for the record and the CRM.")
@_common
def restore(config: config_mod.Config, outage_id: int, check: bool, notify: bool, note: str | None,
            dry_run: bool, yes: bool, as_json: bool, actor: str | None) -> None:  # fmt: skip
    """The outage is over: linked tickets resolved, the restored notice sent.

    Example: gateway outage restore 1 --check --yes
    """
    from gateway.cli.ticket_case import actor_name
    from gateway.outages import restore as restore_

    who = actor_name(actor)
    _stage(config, lambda s, dry: restore_(s, config, outage_id, check=check, notify=notify, note=note,
                                           dry_run=dry, actor=who),
           notify=notify, dry_run=dry_run, yes=yes, as_json=as_json)  # fmt: skip


@outage.command()
@click.argument("outage_id", type=int)
@click.option("--notify", is_flag=True, help="Send the restored notice as for a restoration.")
@click.option("--note", help="Why, for the record and the CRM.")
@_common
def cancel(config: config_mod.Config, outage_id: int, notify: bool, note: str | None,
           dry_run: bool, yes: bool, as_json: bool, actor: str | None) -> None:  # fmt: skip
    """Cancel an outage declared by mistake: linked tickets resolved, nothing sent unless --notify.

    Example: gateway outage cancel 1 --note "declared by mistake"
    """
    from gateway.cli.ticket_case import actor_name
    from gateway.outages import cancel as cancel_

    who = actor_name(actor)
    _stage(config, lambda s, dry: cancel_(s, config, outage_id, notify=notify, note=note, dry_run=dry, actor=who),
           notify=notify, dry_run=dry_run, yes=yes, as_json=as_json)  # fmt: skip


@outage.command("list")
@click.option("--status", type=click.Choice(["active", "restored", "cancelled"]), help="Only outages in this state.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_config
def list_(config: config_mod.Config, status: str | None, limit: int, as_json: bool) -> None:
    """Outages, newest first: areas, status, ETR, reports linked, still-out replies, people notified.

    Example: gateway outage list --status active
    """
    from gateway.cli.output import DataTable
    from gateway.outages import list_outages

    found = _run(config, lambda s: list_outages(s, config, status, limit))
    if as_json:
        echo_json(found)
        return
    table = DataTable("id", "status", "areas", "started", "ETR", "reports", "still out", "notified", "cause")
    for o in found:
        table.add_row(str(o["id"]), o["status"], ", ".join(o["areas"]), o["started_at"][:16].replace("T", " "),
                      o["eta_local"] or "-", str(o["reports"]), str(o["still_out"]), str(o["notices_sent"]),
                      o["cause"] or "")  # fmt: skip
    console().print(table)


@outage.command()
@click.argument("outage_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_config
def show(config: config_mod.Config, outage_id: int, as_json: bool) -> None:
    """One outage: areas, ETR history, stages and the notices they sent, reports linked.

    Example: gateway outage show 1
    """
    from gateway.cli.output import DataTable, print_fields
    from gateway.outages import show_outage

    found = _run(config, lambda s: show_outage(s, config, outage_id))
    if as_json:
        echo_json(found)
        return
    out = console()
    fields = {k: v for k, v in found.items() if k not in ("stages", "etr_history", "tickets")}
    fields["areas"] = ", ".join(found["areas"])
    print_fields(out, fields, 13)
    stages = DataTable("stage", "at", "by", "ETR", "check", "campaign", "notified", "note")
    for s in found["stages"]:
        stages.add_row(s["kind"], s["at"][:16].replace("T", " "), s["actor"], s["eta_local"] or "-",
                       "yes" if s["check"] else "", str(s["campaign_id"] or "-"), str(s["notified"]),
                       s["note"] or "")  # fmt: skip
    out.print(stages)
    reports = DataTable("ref", "kind", "status", "phone", "at")
    for r in found["tickets"]:
        reports.add_row(r["ref"], r["kind"], r["status"], r["phone"], r["at"][:16].replace("T", " "))
    out.print(reports)


@outage.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@with_config
def suggest(config: config_mod.Config, as_json: bool) -> None:
    """Areas without a declared outage with many reports lately ([outages] suggest_reports in suggest_window).

    Example: gateway outage suggest --json
    """
    from gateway.cli.output import styled
    from gateway.outages import suggest as suggest_

    found = _run(config, lambda s: suggest_(s, config))
    if as_json:
        echo_json(found)
        return
    out = console()
    if not found:
        out.print(styled("no area has {} or more reports in the last {} s without a declared outage",
                         config.outages.suggest_reports, int(config.outages.suggest_window)))  # fmt: skip
    for item in found:
        out.print(styled("{}: {} phones reported an outage since {} -- gateway outage declare --area {}",
                         item["area"], item["reports"], item["since"], item["area"]))  # fmt: skip


COMMANDS = [outage]
