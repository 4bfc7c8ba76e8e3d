"""Data printed literally: a customer's ``[/red]`` is text, never Rich markup.

Every command that prints through Rich puts data (customers' texts, names, errors from
modems and the CRM, URLs) in :class:`DataTable` cells, :func:`print_fields` values or the
``{}`` of :func:`styled`; only the markup we write ourselves is ever parsed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from gateway.cli.common import stderr_console

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

# C0 and C1 control characters but newline: a customer's ESC must not drive the operator's terminal
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c != 0x0A}


def literal(value: object) -> Text:
    """A piece of data (a customer's text, a name, an error, a URL) for Rich to print as it is:
    never read as markup (``[/red]`` stays text), no emoji codes; control characters shown
    escaped (``\\x1b``) instead of acting on the terminal."""
    return Text("" if value is None else str(value).translate(_CONTROL))


class DataTable(Table):
    """A table whose cells are data: a string cell is printed literally (see :func:`literal`);
    the column headers, written by us, may use markup."""

    def add_row(self, *renderables: RenderableType | None, style: StyleType | None = None,
                end_section: bool = False) -> None:  # fmt: skip
        cells = [literal(r) if isinstance(r, str) else r for r in renderables]
        super().add_row(*cells, style=style, end_section=end_section)


def print_fields(out: Console, fields: Mapping[str, object], width: int) -> None:
    """``key  value`` lines, the key right-aligned in bold, the value literally."""
    for key, value in fields.items():
        out.print(Text.assemble((f"{key:>{width}}", "bold"), "  ", literal(value)))


def styled(markup: str, *data: object) -> Text:
    """Our own markup with data in it: ``styled("[yellow]Warning: {}[/yellow]", warning)`` -- the
    markup is ours, each ``{}`` is filled with a piece of data that prints literally (in the
    style around its ``{}``)."""
    holes = markup.split("{}")
    if len(holes) != len(data) + 1:
        raise ValueError(f"{len(holes) - 1} places for {len(data)} values in {markup!r}")
    # each {} becomes a NUL-delimited mark (data never holds NUL: literal() escapes it), parsed
    # as markup with the rest, then replaced by the data with the mark's style
    parsed = Text.from_markup("".join(h + (f"\0{n}\0" if n < len(data) else "") for n, h in enumerate(holes)),
                              emoji=False)  # fmt: skip
    out = Text()
    pos = 0
    for n, value in enumerate(data):
        start = parsed.plain.index(f"\0{n}\0", pos)
        end = start + len(f"\0{n}\0")
        out.append_text(parsed[pos:start])
        piece = literal(value)
        for span in parsed[start:end].spans:
            piece.stylize(span.style)
        out.append_text(piece)
        pos = end
    out.append_text(parsed[pos:])
    return out


def progress_bar(transient: bool = False, *columns: ProgressColumn) -> Progress:
    """A progress bar on stderr, shown on a terminal only: what it does, the bar, ``columns``, time left."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), *columns, TimeRemainingColumn(),
        console=stderr_console(), disable=not sys.stderr.isatty(), transient=transient,
    )  # fmt: skip
