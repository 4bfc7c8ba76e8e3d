"""The rules of case work (pure): which statuses a ticket may take, what a note and a name may be.

Statuses: ``open -> in_progress -> resolved | closed``. Any status may follow any other
(any role that may change a ticket may set any status, and a closed or resolved ticket may
be reopened); only setting the status a ticket already has is refused, so that a second
agent sees the first one got there before them. Every change is kept in the ticket's
history with who made it: ``crm`` for the CRM's status updates, else the local user.
"""

from __future__ import annotations

from gateway.exceptions import DeskError

TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")  # the contract's ticket statuses
NOTE_MAX = 1000  # characters in a note: a paragraph for the next agent, not a file
NAME_MAX = 64  # characters in a user's name (who acts, who a ticket is assigned to)
RESERVED_NAMES = ("crm",)  # the history's name for the CRM's changes: no local user takes it


def check_status(ref: str, current: str, wanted: str) -> None:
    """Refuse an unknown status, or the one ticket ``ref`` already has."""
    if wanted not in TICKET_STATUSES:
        raise DeskError(f"unknown status {wanted!r}: use one of {', '.join(TICKET_STATUSES)}")
    if wanted == current:
        raise DeskError(f"ticket {ref} is already {current}: nothing changed")


def check_note(text: str) -> str:
    """A note as it is kept: any characters (they are shown literally), not blank, at most
    :data:`NOTE_MAX` characters; surrounding blanks trimmed."""
    note = text.strip()
    if not note:
        raise DeskError("the note is empty: write what the next agent should know")
    if len(note) > NOTE_MAX:
        raise DeskError(f"the note is {len(note)} characters long: at most {NOTE_MAX}")
    return note


def check_name(name: str, what: str = "user") -> str:
    """A user's name: one line of at most :data:`NAME_MAX` characters, not blank, not ``crm``."""
    clean = name.strip()
    if not clean:
        raise DeskError(f"the {what} name is empty")
    if len(clean) > NAME_MAX:
        raise DeskError(f"the {what} name is {len(clean)} characters long: at most {NAME_MAX}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in clean):
        raise DeskError(f"the {what} name {clean!r} holds a control character: a name is one line of text")
    if clean.casefold() in RESERVED_NAMES:
        raise DeskError(f"{clean!r} is the history's name for the CRM: choose another {what} name")
    return clean


def check_assignment(ref: str, current: str | None, wanted: str) -> None:
    """Refuse assigning ticket ``ref`` to the user it is already assigned to."""
    if current == wanted:
        raise DeskError(f"ticket {ref} is already assigned to {wanted}: nothing changed")
