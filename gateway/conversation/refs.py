"""Ticket references (pure): short, digits and one dash, typable on any phone.

``12-000345``: the site id, a dash, a per-site sequence of at least six
digits. At most 10 characters while the sequence fits (a 2-digit site has
9,999,999 refs). Customers may type it back in any digit script, with or
without the dash.
"""

from __future__ import annotations

import re

from gateway.conversation.text import normalise

SEQ_DIGITS = 6
_DASHES = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_WITH_DASH = re.compile(r"\d{1,3}-\d{6,}")


def format_ref(site: str, seq: int) -> str:
    return f"{site}-{seq:06d}"


def ref_candidates(text: str) -> list[str]:
    """The refs a customer or operator may mean by ``text`` (``۱۲-۰۰۰۳۴۵``, ``12 000345``,
    ``12000345``): the dash, when typed, says where the site id ends; without it, each
    split of 1-3 site digits is a candidate. Empty when ``text`` cannot be a ref."""
    compact = _DASHES.sub(lambda m: "-" if m.group(0).strip() else "", normalise(text))
    if not compact.isascii():
        return []
    if _WITH_DASH.fullmatch(compact):
        return [compact]
    if compact.isdigit():
        return [f"{compact[:k]}-{compact[k:]}" for k in (1, 2, 3) if len(compact) - k >= SEQ_DIGITS]
    return []
