"""Rows of broadcasts: who a broadcast goes to, the campaigns, and the contacts they reach."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.store.base import stamp


@dataclass(frozen=True)
class AudienceSpec:
    """Who a broadcast goes to: the union of these, de-duplicated by phone."""

    groups: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # contacts with this area (or, with reporters, the reporters' area)
    reporters: tuple[str, ...] = ()  # ticket categories
    since: datetime | None = None  # reporters: tickets opened since
    files: tuple[str, ...] = ()  # CSV files (the phones come in through ``extra``)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.groups:
            out["groups"] = list(self.groups)
        if self.reporters:
            out["reporters"] = {"categories": list(self.reporters), "since": stamp(self.since) if self.since else None}
            if self.areas:
                out["reporters"]["areas"] = list(self.areas)
        elif self.areas:
            out["areas"] = list(self.areas)
        if self.files:
            out["files"] = list(self.files)
        return out


@dataclass(frozen=True)
class AudienceSummary:
    by_language: dict[str, int]
    opted_out: int
    sources: dict[str, int] = field(default_factory=dict)  # recipients each source added (before de-duplication)

    @property
    def recipients(self) -> int:
        return sum(self.by_language.values())


@dataclass(frozen=True)
class CampaignRow:
    id: int
    template: str
    variables: str
    texts: str
    audience: str
    status: str
    recipients: int
    opted_out: int
    rate: int | None
    window: str | None
    every_s: float | None
    runs_total: int
    runs_done: int
    next_run_at: str | None
    created_at: str
    done_at: str | None
    until_at: str | None = None
    copying: int | None = None
    creator: str | None = None  # "kind:PID" of the process writing it, while it is being written
    created_by: str | None = None  # the user or token that made it (the CLI: the local user)
    approved_by: str | None = None  # who approved it (a campaign that waited as pending_approval)
    approved_at: str | None = None

    @property
    def text_by_language(self) -> dict[str, str]:
        return dict(json.loads(self.texts))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "template": self.template,
            "variables": json.loads(self.variables),
            "texts": self.text_by_language,
            "audience": json.loads(self.audience),
            "status": self.status,
            "recipients": self.recipients,
            "opted_out": self.opted_out,
            "rate_per_minute": self.rate,
            "window": self.window,
            "every_s": self.every_s,
            "runs_total": self.runs_total,
            "runs_done": self.runs_done,
            "next_run_at": self.next_run_at,
            "until": self.until_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "done_at": self.done_at,
        }


@dataclass(frozen=True)
class NewCampaign:
    template: str
    variables: dict[str, str]
    texts: dict[str, str]  # language -> text
    parts: dict[str, int]  # language -> parts of that text
    audience: dict[str, Any]
    rate: int | None = None
    window: str | None = None
    every_s: float | None = None
    runs_total: int = 1
    until_at: datetime | None = None
    opted_out: int = 0
    creator: str | None = None  # "kind:PID" of the process writing it (the pacer cancels it if that dies)
    created_by: str | None = None  # the user or token that made it, for the record and the approval
    approval: bool = False  # once written, wait as pending_approval for a second person's approval


@dataclass(frozen=True)
class NewContact:
    """A contact to add or update; a field left None keeps what was known."""

    phone: str
    name: str | None = None
    language: str | None = None
    area: str | None = None
    account: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactRow:
    phone: str
    name: str | None
    language: str | None
    area: str | None
    account: str | None
    attrs: str | None
    updated_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "name": self.name,
            "language": self.language,
            "area": self.area,
            "account": self.account,
            "attrs": json.loads(self.attrs) if self.attrs else {},
            "updated_at": self.updated_at,
        }
