"""``gateway broadcast``: plan, confirm, create; list, status, pause, resume, cancel, approve. Made here,
a broadcast goes at once whatever ``[web] broadcast_approval`` says (gateway.broadcast.campaigns says why)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from gateway.cli.common import CONTEXT, FLAGS, Group, console, echo_json, stderr_console, with_config
from gateway.exceptions import BroadcastError

if TYPE_CHECKING:
    from gateway import config as config_mod
    from gateway.broadcast.operations import BroadcastPlan


@click.group(cls=Group, context_settings=CONTEXT, invoke_without_command=True)
@with_config
@click.option("--template", "template", help="The notice to send (gateway templates list).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A value for the notice (repeat).")
@click.option("--group", "groups_", multiple=True, help="Audience: a contact group (repeatable).")
@click.option("--area", "areas", multiple=True,
              help="Audience: contacts of an area; with --reporters, only reporters in that area.")  # fmt: skip
@click.option("--csv", "files", multiple=True, type=click.Path(dir_okay=False),
              help="Audience: numbers in a CSV file with a phone column (repeatable).")  # fmt: skip
@click.option("--reporters", multiple=True, metavar="CATEGORY",
              help="Audience: everyone who opened a ticket of this category (with --since).")  # fmt: skip
@click.option("--since", help="With --reporters: tickets opened in this past time, e.g. 6h, 2d.")
@click.option("--rate", type=int, help="At most this many messages a minute for this campaign.")
@click.option("--window", help="Send only between these local hours, e.g. 07:00-23:00.")
@click.option("--every", help="Staged updates: send again every this long, e.g. 2h (with --until or --times).")
@click.option("--until", help='With --every: the last run at or before this local time, "2026-11-24 18:00".')
@click.option("--times", type=int, help="With --every: how many runs in all.")
@click.option("--dry-run", is_flag=True, help="Show what it would take; queue nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait", is_flag=True, help="Follow the campaign with a progress bar until it is done.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (and campaign id) as JSON.")
@click.option("--as", "actor", metavar="NAME", help="Who creates it, for the audit log [default: $USER].")
@click.pass_context
def broadcast(
    ctx: click.Context,
    config: config_mod.Config,
    template: str | None,
    variables: tuple[str, ...],
    groups_: tuple[str, ...],
    areas: tuple[str, ...],
    files: tuple[str, ...],
    reporters: tuple[str, ...],
    since: str | None,
    rate: int | None,
    window: str | None,
    every: str | None,
    until: str | None,
    times: int | None,
    dry_run: bool,
    yes: bool,
    wait: bool,
    as_json: bool,
    actor: str | None,
) -> None:
    """Send a notice to an audience, within the SIMs' quotas; see the plan first.

    Example: gateway broadcast --template outage --group north --var area="North" --var eta="18:00" --dry-run

    Example: gateway broadcast --template restored --reporters outage --since 6h --var area="North" --yes

    Then: gateway broadcast list, status ID, pause ID, resume ID, cancel ID (approve ID: one made
    through the API that waits for a second supervisor).
    """
    if ctx.invoked_subcommand is not None:
        return
    if template is None:
        raise click.UsageError("give --template NAME (gateway templates list), or a subcommand: list, status, ...")
    if not (groups_ or areas or files or reporters):
        raise click.UsageError("give an audience: --group, --area, --csv and/or --reporters CATEGORY --since 6h")
    if reporters and not since:
        raise click.UsageError("--reporters needs --since, e.g. --since 6h")
    if since and not reporters:
        raise click.UsageError("--since goes with --reporters CATEGORY (who reported since when)")
    if wait and dry_run:
        raise click.UsageError("--wait follows a campaign being sent; a --dry-run sends nothing")
    import asyncio
    from zoneinfo import ZoneInfo

    from rich.progress import MofNCompleteColumn

    from gateway.broadcast import operations as ops
    from gateway.broadcast.operations import NOBODY, BroadcastRequest
    from gateway.cli.common import parse_duration, parse_local_time
    from gateway.cli.output import progress_bar
    from gateway.cli.ticket_case import actor_name
    from gateway.exceptions import FieldError
    from gateway.lockfile import no_daemon
    from gateway.store import AudienceSpec, utcnow
    from gateway.store.configured import open_store

    values = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--var {item!r}: write NAME=VALUE")
        values[name.strip()] = value
    spec = AudienceSpec(
        groups=groups_,
        areas=areas,
        reporters=reporters,
        since=utcnow() - parse_duration(since) if since else None,
        files=files,
    )
    request = BroadcastRequest(
        template, values, spec, rate=rate, window=window, every=parse_duration(every) if every else None,
        until=parse_local_time(until, ZoneInfo(config.site.timezone)) if until is not None else None, times=times,
    )  # fmt: skip
    progress = progress_bar(True, MofNCompleteColumn())
    task = progress.add_task("queueing", total=None)
    campaign_id: int | None = None
    warning: str | None = None
    # one event loop for the store's life; the question is asked between its runs, never inside one
    with asyncio.Runner() as runner:
        store = runner.run(open_store(config, create=True))
        try:
            try:
                plan = runner.run(ops.plan_broadcast(store, config, request))
            except FieldError as exc:
                raise click.ClickException(exc.wording.naming({**FLAGS, "until_value": until or ""})) from None
            if not dry_run and _agreed(config, plan, as_json=as_json, yes=yes):
                progress.update(task, total=plan.recipients)
                progress.start()  # after the question: a live bar would hide the prompt
                try:
                    campaign_id, warning = runner.run(
                        ops.create_broadcast(store, config, plan, created_by=actor_name(actor),
                                             on_progress=lambda n: progress.advance(task, n))
                    )  # fmt: skip
                finally:
                    progress.stop()
        finally:
            runner.run(store.close())
    if as_json:
        echo_json({**plan.as_json(FLAGS), "campaign": campaign_id, "warning": warning})
    elif dry_run:
        _print_plan(plan, dry_run=True)
    if dry_run and not plan.recipients:
        raise BroadcastError(NOBODY)
    if campaign_id is None:
        if not dry_run and not as_json:
            click.echo("not sent", err=True)
        return
    try:  # from here on, Ctrl-C leaves a campaign that goes on: say so, whenever it comes
        waiting = no_daemon(config)
        if not as_json:
            who = "" if waiting else "; the daemon sends it"
            click.echo(f"campaign {campaign_id} created: {plan.recipients} recipient(s){who} "
                       f"(gateway broadcast status {campaign_id}); public copy in {config.public_dir}")  # fmt: skip
        for warned in (waiting, warning):
            if warned:
                click.echo(f"warning: {warned}", err=True)
        if wait:
            _wait(config, campaign_id)
    except KeyboardInterrupt:
        _stopped_watching(config, campaign_id)


def _agreed(config: config_mod.Config, plan: BroadcastPlan, *, as_json: bool, yes: bool) -> bool:
    """Whether to create the planned campaign: never one that no SIM could send (refused
    before anything is shown), nor one without recipients; else --yes, or the operator's answer."""
    from gateway.broadcast.operations import NOBODY, refuse_unsendable

    refuse_unsendable(config, plan)
    if not as_json:
        _print_plan(plan, dry_run=False)
    if not plan.recipients:
        raise BroadcastError(NOBODY)
    if yes:
        return True
    return click.confirm(f"Send to {plan.recipients} recipient(s) ({plan.parts_per_run * plan.runs} parts)?",
                         err=True)  # fmt: skip


def _print_plan(plan: BroadcastPlan, *, dry_run: bool) -> None:
    from gateway.cli.output import DataTable, styled

    out = console()
    est = plan.estimate
    data = plan.as_json()
    out.print(styled("[bold]{}[/bold]: notice {} to {} recipient(s) ({} opted-out number(s) left out)",
                     "Dry run" if dry_run else "Plan", repr(plan.request.template), plan.recipients,
                     plan.audience.opted_out))  # fmt: skip
    for source, n in plan.audience.sources.items():
        out.print(styled("  {}: {}", source, n))
    if plan.skipped_rows:
        out.print(styled("  [yellow]{} CSV row(s) skipped[/yellow], e.g. line {}: {}", len(plan.skipped_rows),
                         plan.skipped_rows[0].line, plan.skipped_rows[0].problem))  # fmt: skip
    if not plan.recipients:
        return  # nothing to estimate: the caller says so
    table = DataTable("language", "recipients", "parts each", "parts", "text")
    for lang, r in plan.rendered.items():
        n = plan.audience.by_language.get(lang, 0)
        if n:
            table.add_row(lang, str(n), str(r.parts), str(n * r.parts), r.text)
    out.print(table)
    runs = f" x {plan.runs} runs = {plan.parts_per_run * plan.runs}" if plan.runs > 1 else ""
    out.print(f"Total: {plan.parts_per_run} SMS parts{runs}")
    sims = DataTable("SIM", "parts (this run)", "broadcast left today", "per day", "measured rate")
    for s in data["sims"]:
        measured = f"{s['measured_parts_per_s'] * 60:.1f}/min" if s["measured_parts_per_s"] else "-"
        sims.add_row(s["sim"], str(s["parts_for_this_run"]), str(s["broadcast_left_today"]),
                     str(s["broadcast_per_day"]), measured)  # fmt: skip
    if plan.sims:
        out.print(sims)
    else:
        out.print("[yellow]No SIMs known (no \\[\\[modems]] in the config and no daemon has reported any): "
                  "no estimate.[/yellow]")  # fmt: skip
    limits = []
    if plan.window:
        limits.append(f"window {plan.window}")
    if plan.request.rate:
        limits.append(f"at most {plan.request.rate}/min")
    basis = "measured" if est.rate_measured else "the SIMs' per-minute limits (nothing measured yet)"
    if est.finish is not None and plan.sims:
        when = est.finish.strftime("%Y-%m-%d %H:%M")
        today = "today" if est.finishes_today else f"[yellow]not today: it takes {est.days} days of quota[/yellow]"
        out.print(f"Estimated finish: {when} ({today}); {est.rate * 60:.1f} parts/min from {basis}"
                  + (f"; {', '.join(limits)}" if limits else ""))  # fmt: skip
    elif plan.sims:
        out.print("[red]It cannot finish within a year at these quotas.[/red]")
    if plan.ahead:
        out.print(f"  ({plan.ahead} parts of other running campaigns go first; the estimate counts them)")
    for warning in plan.warnings:
        out.print(styled("[yellow]Warning: {}[/yellow]", warning.naming(FLAGS)))


def _stopped_watching(config: config_mod.Config, campaign_id: int) -> NoReturn:
    """Ctrl-C after the campaign exists: it goes on; say how to watch or stop it. Exit 130."""
    from gateway.lockfile import no_daemon

    waiting = no_daemon(config)
    how = f"{waiting[0].upper()}{waiting[1:]}" if waiting else "The daemon sends it, watched or not"
    click.echo(
        f"stopped watching: campaign {campaign_id} goes on. {how}. Watch it again: gateway broadcast "
        f"status {campaign_id} --wait; stop it: gateway broadcast pause {campaign_id} or "
        f"gateway broadcast cancel {campaign_id}",
        err=True,
    )
    sys.exit(130)


def _wait(config: config_mod.Config, campaign_id: int) -> None:
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from gateway.broadcast import campaigns as ops

    with Progress(
        TextColumn("campaign {task.fields[id]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("sent {task.fields[sent]} delivered {task.fields[delivered]} failed {task.fields[failed]} "
                   "left {task.fields[left]} - {task.fields[rate]}/min, ETA {task.fields[eta]}"),
        console=stderr_console(), disable=not sys.stderr.isatty(),
    ) as progress:  # fmt: skip
        task = progress.add_task("campaign", total=None, id=campaign_id, sent=0, delivered=0, failed=0, left="?",
                                 rate=0, eta="-")  # fmt: skip

        def update(s: dict[str, Any]) -> None:
            eta = ops.local_time(s["eta"], config)[11:] if s["eta"] else "-"
            done = s["sent"] + s["failed"]
            progress.update(task, total=s["messages"] - s["cancelled_messages"], completed=done, sent=s["sent"],
                            delivered=s["delivered"], failed=s["failed"], left=s["remaining"],
                            rate=s["rate_per_minute"], eta=eta)  # fmt: skip

        try:
            final = asyncio.run(ops.watch(config, campaign_id, update))
        except KeyboardInterrupt:
            progress.stop()
            _stopped_watching(config, campaign_id)
    click.echo(f"campaign {campaign_id} {final['status']}: sent {final['sent']}, delivered {final['delivered']}, "
               f"failed {final['failed']}, cancelled {final['cancelled_messages']}")  # fmt: skip


@broadcast.command("list", context_settings=CONTEXT)
@with_config
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def broadcast_list(config: config_mod.Config, limit: int, as_json: bool) -> None:
    """Campaigns, newest first.

    Example: gateway broadcast list
    """
    import asyncio

    from gateway.broadcast import campaigns as ops
    from gateway.cli.output import DataTable
    from gateway.lockfile import no_daemon

    rows = asyncio.run(ops.list_campaigns(config, limit))
    if as_json:
        echo_json([r.as_json() for r in rows])
        return
    idle = no_daemon(config) is not None
    table = DataTable("id", "status", "notice", "recipients", "runs", "created (site time)", "audience")
    for r in rows:
        audience = _audience_text(r.as_json()["audience"])
        status = f"{r.status} (no daemon)" if idle and r.status == "running" else r.status
        table.add_row(str(r.id), status, r.template, str(r.recipients), f"{r.runs_done}/{r.runs_total}",
                      ops.local_time(r.created_at, config), audience)  # fmt: skip
    console().print(table)


def _audience_text(audience: dict[str, Any]) -> str:
    """``groups: north, south; reporters: outage since 2026-11-24 12:00`` (names as they are)."""
    parts = []
    for key, value in audience.items():
        if isinstance(value, dict):  # reporters: categories, since, areas
            text = ", ".join(value.get("categories", []))
            if value.get("areas"):
                text += " in " + ", ".join(value["areas"])
            if value.get("since"):
                text += f" since {value['since'][:16].replace('T', ' ')} UTC"
            parts.append(f"{key}: {text}")
        else:
            parts.append(f"{key}: {', '.join(str(v) for v in value)}")
    return "; ".join(parts)


@broadcast.command("status", context_settings=CONTEXT)
@with_config
@click.argument("campaign_id", type=int)
@click.option("--wait", is_flag=True, help="Follow it with a progress bar until it is done (Ctrl-C stops watching).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def broadcast_status(config: config_mod.Config, campaign_id: int, wait: bool, as_json: bool) -> None:
    """One campaign: sent, delivered, failed, remaining, rate, ETA.

    Example: gateway broadcast status 3 --json; gateway broadcast status 3 --wait
    """
    if wait and as_json:
        raise click.UsageError("--wait shows a progress bar; --json prints the status once")
    import asyncio

    from gateway.broadcast import campaigns as ops
    from gateway.cli.output import print_fields
    from gateway.lockfile import no_daemon

    s = asyncio.run(ops.campaign_status(config, campaign_id))
    if as_json:
        echo_json(s)
        return
    if wait:
        if not s["daemon_running"]:
            click.echo(f"warning: {no_daemon(config)}", err=True)
        _wait(config, campaign_id)
        return
    out = console()
    state = s["status"]
    idle = not s["daemon_running"] and state == "running"
    if idle:
        state += ", but no daemon is running on this database: nothing is sent until one starts (gateway run)"
    rows = {
        "campaign": f"{s['id']} ({s['template']}), {state}",
        "recipients": f"{s['recipients']} per run ({s['opted_out']} opted out), run {s['runs_done']}/{s['runs_total']}",
        "sent": str(s["sent"]),
        "delivered": str(s["delivered"]),
        "failed": str(s["failed"]),
        "remaining": str(s["remaining"]),
        "rate": f"{s['rate_per_minute']}/min",
        "ETA": "- (no daemon)" if idle else ops.local_time(s["eta"], config),
    }
    if s["next_run_at"]:
        rows["next run"] = ops.local_time(s["next_run_at"], config)
    print_fields(out, rows, 10)


def _control(action: str) -> Any:
    @with_config
    @click.argument("campaign_id", type=int)
    @click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
    def command(config: config_mod.Config, campaign_id: int, actor: str | None) -> None:
        import asyncio

        from gateway.broadcast import campaigns as ops
        from gateway.cli.ticket_case import actor_name

        who = actor_name(actor)
        done = ops.approve_campaign(config, campaign_id, actor=who) if action == "approve" else None
        click.echo(asyncio.run(done or ops.control(config, campaign_id, action, actor=who)))

    return command


for _action, _help in (
    ("pause", "Stop sending a campaign for now (messages already with a modem still go)."),
    ("resume", "Carry on with a paused campaign."),
    ("cancel", "Send no more of a campaign; the public copy drops it."),
    ("approve", "Let a campaign made through the API that waits for a second supervisor go (not your own)."),
):
    broadcast.command(_action, context_settings=CONTEXT, help=f"{_help}\n\nExample: gateway broadcast {_action} 3")(
        _control(_action)
    )

COMMANDS = (broadcast,)
