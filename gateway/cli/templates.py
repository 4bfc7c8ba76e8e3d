"""``gateway templates``: the pre-approved notices broadcasts send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gateway.cli.common import CONTEXT, Group, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
def templates() -> None:
    """Pre-approved notices for broadcasts (config/templates.toml, or [broadcast] templates)."""


@templates.command("list", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_list(config: config_mod.Config, as_json: bool) -> None:
    """Every notice, its variables, and its SMS parts per language with the sample values.

    Example: gateway templates list
    """
    from gateway.broadcast.templates import notices, show_notice
    from gateway.cli.output import DataTable

    rows = []
    for name in notices(config):
        notice, rendered = show_notice(config, name)
        rows.append((notice, rendered))
    if as_json:
        echo_json([_notice_json(n, r) for n, r in rows])
        return
    table = DataTable("notice", "variables", "parts fa/ar/en", "description")
    for notice, rendered in rows:
        parts = "/".join(str(r.parts) for r in rendered)
        table.add_row(notice.name, ", ".join(notice.variables), parts, notice.description)
    console().print(table)


@templates.command("show", context_settings=CONTEXT)
@with_config
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_show(config: config_mod.Config, name: str, as_json: bool) -> None:
    """One notice in every language, rendered with its sample values, with its part count.

    Example: gateway templates show restored
    """
    from gateway.broadcast.templates import show_notice
    from gateway.cli.output import styled

    notice, rendered = show_notice(config, name)
    if as_json:
        echo_json(_notice_json(notice, rendered))
        return
    out = console()
    out.print(styled("[bold]{}[/bold]: {}", notice.name, notice.description))
    samples = ", ".join(f'{k}="{v}"' for k, v in notice.samples.items())
    out.print(styled("variables: {}", samples or "none"))
    for r in rendered:
        out.print(styled("[bold]{}[/bold] ({} part{}, {}): {}", r.language, r.parts, "s" if r.parts != 1 else "",
                         r.encoding, r.text))  # fmt: skip


def _notice_json(notice: Any, rendered: list[Any]) -> dict[str, Any]:
    return {
        "name": notice.name,
        "description": notice.description,
        "variables": notice.samples,
        "languages": {r.language: {"text": r.text, "parts": r.parts, "encoding": r.encoding} for r in rendered},
    }


COMMANDS = (templates,)
