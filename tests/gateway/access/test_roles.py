"""The table of rights (gateway/access/roles.py, docs/access.md): what each role may and may not do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.access.principal import Principal
from gateway.access.roles import ACTIONS, RIGHTS, ROLES, TOKEN_ROLES, USER_ROLES, actions_of, allowed

DOCS = Path(__file__).resolve().parents[3] / "docs" / "access.md"

MAY = {
    "agent": {"tickets.read", "tickets.write", "tickets.reply", "messages.read", "sims.read", "events.read",
              "outages.read"},
    "supervisor": {
        "tickets.read", "tickets.write", "tickets.reply", "messages.read", "sims.read", "events.read",
        "broadcasts.read", "broadcasts.create", "broadcasts.approve", "optouts.manage", "contacts.manage",
        "outages.read", "outages.manage", "audit.read",
    },
    "admin": set(ACTIONS),
    "integration": {"tickets.read", "messages.read", "messages.send", "events.read", "webhooks.manage_own",
                    "cap.ingest"},
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_its_actions_and_is_refused_the_others(role: str) -> None:
    for action in ACTIONS:
        assert allowed(role, action) is (action in MAY[role]), (role, action)
    assert actions_of(role) == [a for a in ACTIONS if a in MAY[role]]


def test_the_boundaries_the_api_relies_on() -> None:
    assert not allowed("agent", "broadcasts.create") and allowed("supervisor", "broadcasts.create")
    assert not allowed("supervisor", "users.manage") and allowed("admin", "users.manage")
    assert not allowed("supervisor", "tokens.manage") and not allowed("supervisor", "webhooks.manage")
    assert not allowed("integration", "tickets.write") and not allowed("integration", "tickets.reply")
    assert not allowed("integration", "sims.read") and not allowed("integration", "webhooks.manage")
    assert not allowed("agent", "audit.read") and allowed("supervisor", "audit.read")  # the console's Audit page
    assert not allowed("agent", "messages.send")  # an agent answers a ticket's customer, not any number
    assert all(allowed(role, "events.read") for role in ROLES)  # any signed-in role reads the stream
    assert RIGHTS["supervisor"] > RIGHTS["agent"] and RIGHTS["admin"] >= RIGHTS["supervisor"] | RIGHTS["integration"]


def test_an_unknown_role_may_nothing_and_an_unknown_action_is_a_mistake() -> None:
    assert not any(allowed("root", action) for action in ACTIONS)
    assert not allowed("", "tickets.read")
    with pytest.raises(ValueError, match=r"unknown action 'ticket\.read'"):
        allowed("admin", "ticket.read")
    assert Principal("ivr", "integration", "token", "en").may("messages.send")
    assert not Principal("sara", "agent", "user", "fa").may("users.manage")


def test_people_and_tokens_have_their_roles() -> None:
    assert USER_ROLES == ("agent", "supervisor", "admin")
    assert TOKEN_ROLES == ("integration", "agent", "supervisor", "admin")


def test_docs_access_shows_the_same_table() -> None:
    """docs/access.md's table: one row per action, a yes in each role's column that has it."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"^\| `([a-z_]+\.[a-z_]+)` \|(.*)\|$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            if len(cells) == 5:  # the rights table's rows: what it allows, then the four roles
                rows[m.group(1)] = cells
    assert list(rows) == list(ACTIONS)
    for action, cells in rows.items():
        marks = cells[1:5]  # after the description: agent, supervisor, admin, integration
        assert [mark == "yes" for mark in marks] == [allowed(role, action) for role in ROLES], action
