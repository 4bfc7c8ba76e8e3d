"""``gateway contacts|groups``: the people broadcasts can reach besides those who texted in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod
    from gateway.broadcast.contacts import RowProblem

PROBLEMS_SHOWN = 50
FORMULA = ("=", "+", "-", "@")  # a cell starting so would run as a formula in a spreadsheet


@click.group(cls=Group, context_settings=CONTEXT)
def contacts() -> None:
    """The people broadcasts can reach besides those who texted in."""


@contacts.command("import", context_settings=CONTEXT)
@with_config
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", help="Put every imported contact in this group too.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every skipped or duplicate row (line and reason) to this file.")  # fmt: skip
def contacts_import(config: config_mod.Config, file: Path, group: str | None, errors_path: Path | None) -> None:
    """Import a CSV (UTF-8) with a header row: phone (required), name, language, area,
    account; other columns are kept as attributes. Numbers are normalised to +E.164 in
    [site] region. Bad rows are reported with their line number and skipped.

    Example: gateway contacts import customers-north.csv --group north
    """
    import asyncio
    import csv

    from rich.progress import DownloadColumn

    from gateway.broadcast import audience
    from gateway.cli.output import progress_bar
    from gateway.cli.ticket_case import actor_name

    errors = errors_path.open("w", encoding="utf-8", newline="") if errors_path is not None else None
    writer = csv.writer(errors) if errors is not None else None
    if writer is not None:
        writer.writerow(["line", "problem"])

    def problem(p: RowProblem) -> None:
        if writer is not None:  # every one, as it comes: a million bad rows never sit in memory
            writer.writerow([p.line, "'" + p.problem if p.problem.startswith(FORMULA) else p.problem])

    try:
        with progress_bar(False, DownloadColumn()) as progress:
            task = progress.add_task("importing", total=None)
            report = asyncio.run(
                audience.import_contacts(
                    config,
                    file,
                    group,
                    on_size=lambda n: progress.update(task, total=n),
                    on_progress=lambda done: progress.update(task, completed=done),
                    on_problem=problem,
                    on_duplicate=problem,
                    actor=actor_name(None),
                )
            )
    finally:
        if errors is not None:
            errors.close()
    where_all = f"all in {errors_path}" if errors_path else "--errors FILE writes them all"
    shown = report.problems[:PROBLEMS_SHOWN]
    for p in shown:
        click.echo(f"{file}:{p.line}: skipped: {p.problem}", err=True)
    if report.problem_count > len(shown):
        click.echo(f"... and {report.problem_count - len(shown)} more skipped row(s) ({where_all})", err=True)
    repeats = report.duplicates[:PROBLEMS_SHOWN]
    for p in repeats:
        click.echo(f"{file}:{p.line}: {p.problem}", err=True)
    if report.duplicate_count > len(repeats):
        click.echo(f"... and {report.duplicate_count - len(repeats)} more duplicate(s) ({where_all})", err=True)
    where = f" into group {group}" if group else ""
    duplicates = f", {report.duplicate_count} duplicate(s) within the file" if report.duplicate_count else ""
    click.echo(
        f"imported {report.rows} row(s){where}: {report.new} new, {report.updated} updated{duplicates}; "
        f"{report.problem_count} skipped"
    )


@contacts.command("list", context_settings=CONTEXT)
@with_config
@click.option("--group", help="Only this group.")
@click.option("--area", help="Only this area.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def contacts_list(config: config_mod.Config, group: str | None, area: str | None, limit: int, as_json: bool) -> None:
    """Contacts, by phone number.

    Example: gateway contacts list --group north --json
    """
    import asyncio

    from gateway.broadcast import audience
    from gateway.cli.output import DataTable

    rows = asyncio.run(audience.list_contacts(config, group, area, limit))
    if as_json:
        echo_json(rows)
        return
    table = DataTable("phone", "name", "language", "area", "account", "attributes")
    for r in rows:
        attrs = ", ".join(f"{k}={v}" for k, v in r["attrs"].items())
        table.add_row(r["phone"], r["name"] or "", r["language"] or "", r["area"] or "", r["account"] or "", attrs)
    console().print(table)


@contacts.command("count", context_settings=CONTEXT)
@with_config
@click.option("--group", help="Only this group.")
@click.option("--area", help="Only this area.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def contacts_count(config: config_mod.Config, group: str | None, area: str | None, as_json: bool) -> None:
    """How many contacts (in a group, an area).

    Example: gateway contacts count --area north
    """
    import asyncio

    from gateway.broadcast import audience

    n = asyncio.run(audience.count_contacts(config, group, area))
    if as_json:
        echo_json({"group": group, "area": area, "contacts": n})
    else:
        click.echo(str(n))


@contacts.command("remove", context_settings=CONTEXT)
@with_config
@click.argument("phone")
@click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
def contacts_remove(config: config_mod.Config, phone: str, actor: str | None) -> None:
    """Delete a contact, and take it out of its groups. What it texted, its tickets and its
    opt-out stay. PHONE may be written any way (0912 123 4567, +98 912-123-4567).

    Example: gateway contacts remove 09121234567
    """
    import asyncio

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.people import remove_contact

    number, names = asyncio.run(remove_contact(config, phone, actor=actor_name(actor)))
    where = f" (taken out of {', '.join(names)})" if names else ""
    click.echo(f"removed contact {number}{where}")


@click.group(cls=Group, context_settings=CONTEXT)
def groups() -> None:
    """Named groups of contacts (made by contacts import --group)."""


@groups.command("list", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def groups_list(config: config_mod.Config, as_json: bool) -> None:
    """Every group and how many contacts it has.

    Example: gateway groups list
    """
    import asyncio

    from gateway.broadcast import audience
    from gateway.cli.output import DataTable

    rows = asyncio.run(audience.list_groups(config))
    if as_json:
        echo_json([{"group": name, "contacts": n} for name, n in rows])
        return
    table = DataTable("group", "contacts")
    for name, n in rows:
        table.add_row(name, str(n))
    console().print(table)


@groups.command("drop", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
def groups_drop(config: config_mod.Config, name: str, actor: str | None) -> None:
    """Delete a group; its contacts stay (in their other groups too).

    Example: gateway groups drop north
    """
    import asyncio

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.people import drop_group

    members = asyncio.run(drop_group(config, name, actor=actor_name(actor)))
    click.echo(f"dropped group {name.strip()} ({members} member(s); the contacts stay)")


@groups.command("remove", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.argument("phone")
@click.option("--as", "actor", metavar="NAME", help="Who makes the change, for the audit log [default: $USER].")
def groups_remove(config: config_mod.Config, name: str, phone: str, actor: str | None) -> None:
    """Take one contact out of a group; the contact stays.

    Example: gateway groups remove north 09121234567
    """
    import asyncio

    from gateway.cli.ticket_case import actor_name
    from gateway.desk.people import remove_member

    number = asyncio.run(remove_member(config, name, phone, actor=actor_name(actor)))
    click.echo(f"took {number} out of group {name.strip()}")


COMMANDS = (contacts, groups)
