"""Roles and their rights, as data (pure): the table ``docs/access.md`` shows.

Each face asks :func:`allowed` before it acts -- the API before it reads a request's body
(403 before 422), so a role without the right learns nothing about what it sent. Actions are
named as the API needs them: ``AREA.VERB``.

* *agent* works tickets: reads tickets, messages, SIMs and outages, replies, notes, changes status, assigns;
* *supervisor* also sends broadcasts (and approves another's), manages opt-outs and contacts,
  declares, updates, restores and cancels outages, and reads the audit log;
* *admin* may do everything: users, tokens, every webhook;
* *integration* (a token for another system) sends messages, reads tickets and messages,
  manages the webhooks it created itself, and hands in CAP alerts.

Every role reads the event stream.
"""

from __future__ import annotations

from types import MappingProxyType

USER_ROLES = ("agent", "supervisor", "admin")  # a person's roles (gateway users add --role)
TOKEN_ROLES = ("integration", "agent", "supervisor", "admin")  # a token's (gateway tokens create --role)
ROLES = ("agent", "supervisor", "admin", "integration")

# every action a face checks, and what it allows
ACTIONS = MappingProxyType(
    {
        "tickets.read": "list tickets and show one (fields, notes, history, thread)",
        "tickets.write": "change a ticket's status (and --notify the customer), add a note, assign it",
        "tickets.reply": "text a ticket's customer by hand (a reply, or a notice as a reply)",
        "messages.read": "every SMS in and out: messages, threads, outbox rows",
        "messages.send": "queue an SMS to any number (POST /api/v1/messages)",
        "sims.read": "the SIMs: state, signal, quotas, balances",
        "events.read": "the event stream (GET /api/v1/events)",
        "broadcasts.read": "list broadcasts and their progress",
        "broadcasts.create": "plan and create a broadcast; pause, resume or cancel one",
        "broadcasts.approve": "approve a broadcast another supervisor created",
        "optouts.manage": "list, add and remove opt-outs",
        "contacts.manage": "import, list and remove contacts and groups",
        "webhooks.manage_own": "add, list and remove the webhooks this token or user added",
        "webhooks.manage": "add, list and remove any webhook",
        "users.manage": "add users, disable them, set their passwords",
        "tokens.manage": "create, list and revoke API tokens",
        "audit.read": "read the audit log",
        "cap.ingest": "hand in a CAP 1.2 alert that declares, updates or cancels an outage (POST /api/v1/cap)",
        "outages.read": "list outages and show one (areas, ETR history, stages, linked reports)",
        "outages.manage": "declare, update, restore and cancel an outage (and send its notices)",
    }
)

_AGENT = frozenset(
    {"tickets.read", "tickets.write", "tickets.reply", "messages.read", "sims.read", "events.read", "outages.read"}
)
_SUPERVISOR = _AGENT | {
    "broadcasts.read",
    "broadcasts.create",
    "broadcasts.approve",
    "optouts.manage",
    "contacts.manage",
    "outages.manage",
    "audit.read",
}
_INTEGRATION = frozenset(
    {"tickets.read", "messages.read", "messages.send", "events.read", "webhooks.manage_own", "cap.ingest"}
)

RIGHTS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "agent": _AGENT,
        "supervisor": frozenset(_SUPERVISOR),
        "admin": frozenset(ACTIONS),
        "integration": _INTEGRATION,
    }
)


def allowed(role: str, action: str) -> bool:
    """May ``role`` do ``action``? An unknown role may do nothing; an unknown action is a
    mistake in the caller (a typo must not quietly refuse, or allow), so it raises."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    return action in RIGHTS.get(role, frozenset())


def actions_of(role: str) -> list[str]:
    """What ``role`` may do, in the order of :data:`ACTIONS`."""
    rights = RIGHTS.get(role, frozenset())
    return [action for action in ACTIONS if action in rights]
