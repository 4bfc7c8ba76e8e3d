"""The rows of who may do what: users, tokens, the audit log, and who acts (:class:`Actor`).

Apart from :mod:`gateway.store.rows` so that each module stays small. No row holds a
password or a token: only their hashes, and those never leave the store's rows in ``as_json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ACTOR_KINDS = ("local", "user", "token")  # the local account at the CLI, a signed-in user, an API token
LOCAL_ADDRESS = "local"  # where a CLI write came from (the API records the client's IP)


@dataclass(frozen=True)
class Actor:
    """Who makes a write, as the audit log keeps it: a name, what kind of name, from where."""

    name: str
    kind: str = "local"
    address: str = LOCAL_ADDRESS

    @classmethod
    def local(cls, name: str) -> Actor:
        """The local account at the command line (``--as NAME``, else ``$USER``)."""
        return cls(name, "local", LOCAL_ADDRESS)


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    language: str
    password_hash: str
    created_at: str
    password_changed_at: str
    disabled_at: str | None

    def as_json(self) -> dict[str, Any]:
        """``users list --json`` (no hash)."""
        return {
            "name": self.name,
            "role": self.role,
            "language": self.language,
            "state": "disabled" if self.disabled_at else "active",
            "created_at": self.created_at,
            "password_changed_at": self.password_changed_at,
            "disabled_at": self.disabled_at,
        }


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    role: str
    language: str
    token_hash: str
    created_at: str
    created_by: str
    last_used_at: str | None
    revoked_at: str | None

    def as_json(self) -> dict[str, Any]:
        """``tokens list --json`` (no hash)."""
        return {
            "name": self.name,
            "role": self.role,
            "language": self.language,
            "state": "revoked" if self.revoked_at else "active",
            "created_at": self.created_at,
            "created_by": self.created_by,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    actor: str
    actor_kind: str
    action: str
    target: str | None
    detail: str | None  # a JSON object
    address: str

    def as_json(self) -> dict[str, Any]:
        """``audit list --json``: ``detail`` as the object it is."""
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "target": self.target,
            "detail": json.loads(self.detail) if self.detail else {},
            "address": self.address,
        }
