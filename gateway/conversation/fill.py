"""Safe template filling (pure).

Templates come from config files written by the organisation; values (a
ticket ref, an account number, a label) are inserted once and never scanned
again, so a customer who writes ``{ref}``, ``%s`` or ``{0.__class__}`` changes
nothing. Only ``{name}`` with a known name is a placeholder; ``{{`` and ``}}``
are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> set[str]:
    """Names used in ``template``."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)}


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill ``template``; a placeholder without a value is left as written."""

    def fill(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        return str(values[name]) if name in values else token

    return _PLACEHOLDER.sub(fill, template)
