"""Who is signed in (:class:`Principal`), and what a user's or a token's name may be (pure)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from gateway.access.roles import allowed
from gateway.exceptions import AccessError
from gateway.store.rows_access import Actor

NAME_MAX = 64  # characters, as the desk's names (who acts, who a ticket is assigned to)
NAME_MARKS = "._-@"  # besides letters and digits (of any script): sara.k, ivr-1, ops@north
RESERVED_NAMES = ("crm",)  # the ticket history's name for the CRM's changes


@dataclass(frozen=True)
class Principal:
    """A signed-in user or a token: what the API acts as."""

    name: str
    role: str
    kind: str  # user | token
    language: str  # fa | ar | en: the console's language for them

    def may(self, action: str) -> bool:
        return allowed(self.role, action)

    def actor(self, address: str) -> Actor:
        """Who the audit log says acted, from ``address`` (the client's IP)."""
        return Actor(self.name, self.kind, address)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "kind": self.kind, "language": self.language}


def check_name(name: str, what: str = "user") -> str:
    """A user's or a token's name: letters and digits of any script and ``._-@``, at most
    :data:`NAME_MAX` characters, not ``crm``. No blanks, so that it is typed at sign-in as shown."""
    clean = unicodedata.normalize("NFC", name.strip())
    if not clean:
        raise AccessError(f"the {what} name is empty")
    if len(clean) > NAME_MAX:
        raise AccessError(f"the {what} name is {len(clean)} characters long: at most {NAME_MAX}")
    bad = sorted({c for c in clean if not (c.isalnum() or c in NAME_MARKS)})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise AccessError(f"the {what} name {clean!r} holds {shown}: use letters, digits and {NAME_MARKS}")
    if clean.casefold() in RESERVED_NAMES:
        raise AccessError(f"{clean!r} is the ticket history's name for the CRM: choose another {what} name")
    return clean
