"""Exceptions raised by the gateway, as one tree.

The CLI turns any :class:`GatewayError` into a one-line message and a
non-zero exit; nothing here carries a phone number or a message body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wording:
    """A message that names fields of a request: ``problem`` has a ``{hole}`` for each, and
    ``words`` fill them as the library names them (``every``). A face names them its own way
    with :meth:`naming` -- the CLI as its flags (``--every``) -- so the library never names a
    flag. Any :class:`GatewayError` may be raised with one instead of a string."""

    problem: str
    words: Mapping[str, str] = field(default_factory=dict)

    def naming(self, names: Mapping[str, str] | None = None) -> str:
        """The message with the holes in ``names`` filled from there, the others with the library's words."""
        if not self.words:
            return self.problem
        return self.problem.format_map({**self.words, **{k: v for k, v in (names or {}).items() if k in self.words}})

    def __str__(self) -> str:
        return self.naming()


class GatewayError(Exception):
    """Base class for everything the gateway raises on purpose."""

    @property
    def wording(self) -> Wording:
        """The message as a :class:`Wording` (with no fields to name when it was raised with a string)."""
        first = self.args[0] if len(self.args) == 1 else None
        return first if isinstance(first, Wording) else Wording(str(self))


class ConfigError(GatewayError):
    """A configuration file is wrong. Names the file, the key and the fix."""

    def __init__(self, path: str, key: str | None, problem: str, fix: str | None = None) -> None:
        where = f"{path}: {key}" if key else path
        message = f"{where}: {problem}"
        if fix:
            message += f" -- {fix}"
        super().__init__(message)
        self.path = path
        self.key = key
        self.problem = problem
        self.fix = fix


class ConfigErrors(ConfigError):
    """Several things wrong in one file, each a :class:`ConfigError` in ``errors``; the
    message has one line per error and their count (the first error's path, key and fix
    are this one's)."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.path, first.key, first.problem, first.fix)
        self.errors = tuple(errors)
        self.args = ("\n".join([*(str(e) for e in self.errors), f"{len(self.errors)} errors in {first.path}"]),)


class CatalogueError(ConfigError):
    """The keyword catalogue or a template file is wrong."""


class StoreError(GatewayError):
    """The database cannot be opened, migrated or written."""


class DatabaseMissing(StoreError):
    """A command that only reads found no database at the path it looked at (it never
    creates one: a typo in a path must not look like an empty gateway)."""

    def __init__(self, path: object) -> None:
        super().__init__(f"no database at {path}: nothing was ever stored there")
        self.path = path


class DatabaseCorrupt(StoreError):
    """The database fails SQLite's ``PRAGMA quick_check``: serving on it could lose messages."""

    def __init__(self, path: object, verdict: str) -> None:
        self.fix = (
            f"stop the gateway and restore the last backup (cp BACKUP {path} && rm -f {path}-wal {path}-shm), "
            f"or salvage what SQLite can read (sqlite3 {path} .recover | sqlite3 {path}.recovered, "
            f"then move {path}.recovered to {path})"
        )
        super().__init__(f"database {path} is damaged (PRAGMA quick_check: {verdict}): {self.fix}")
        self.path = path
        self.verdict = verdict


class DatabaseUnreadable(StoreError):
    """SQLite could not read the database (locked past the busy timeout, permissions, disk
    I/O) though the file is not known to be damaged: say so and point at ``gateway doctor``."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason} (gateway doctor says why)")
        self.path = path
        self.reason = reason


class DatabaseReplaced(StoreError):
    """The file the daemon writes is no longer the file at its configured path (removed,
    renamed or replaced under it): nothing more may leave the SIMs."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(
            f"database {path} was {why} while the gateway ran: it stops so that the SMS still on the SIMs "
            "are stored in the file now at that path when it starts again"
        )
        self.path = path


class NotFound(GatewayError):
    """A ticket, message or outbox row the user named does not exist."""


class DeskError(GatewayError):
    """A change to a ticket was refused: an empty or too long note, a name that cannot be one,
    a status the ticket already has. Nothing was written."""


class TicketChanged(DeskError):
    """Someone else changed the ticket between reading it and writing the change: nothing was
    written; look at the ticket again."""


class AccessError(GatewayError):
    """A user or token cannot be added or changed as asked (an unknown role, a password too
    short, a name taken, no such user). Nothing was written; never carries a password or token."""


class WebhookError(GatewayError):
    """A webhook cannot be added or removed as asked (a URL that is not http(s), an unknown event
    type, an empty secret, no such webhook). Nothing was written; never carries the secret."""


class SimulatorUnavailable(GatewayError):
    """``gateway simulate`` found no running simulated SIM bank to talk to."""


class CrmError(GatewayError):
    """The CRM could not be asked or its answer could not be used. Never carries the
    token, the secret or a ticket's contents."""


class CrmUnreachable(CrmError):
    """No answer: connection refused or reset, DNS, TLS, or a timeout. The link is down."""


class CrmBadAnswer(CrmError):
    """The CRM answered, but not with something the protocol allows (a page that is not JSON,
    an error status on a pull). The link is up; try again later."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ContactsFileError(GatewayError, ValueError):
    """A contacts file as a whole cannot be read (no phone column, not UTF-8, not CSV)."""


class NoticeError(GatewayError):
    """A notice cannot be sent as asked (unknown name, a variable missing)."""


class BroadcastError(GatewayError):
    """A broadcast cannot be made as asked (no recipients, a bad option value)."""


class FieldError(BroadcastError):
    """A field of a broadcast request has a value the library refuses (``every`` too short,
    ``until`` in the past); the message names the fields, for each face to name its way."""

    def __init__(self, problem: str, **words: str) -> None:
        super().__init__(Wording(problem, words))


class CampaignConflict(BroadcastError):
    """A campaign is not in a state that allows the change asked (pause a finished one, approve
    one that is not waiting for approval): nothing changed. The API answers 409."""


class SelfApproval(BroadcastError):
    """The person who created a broadcast asked to approve it: a second person must. The API
    answers 403."""


class MessageTooLong(GatewayError):
    """A message has more SMS parts than any SIM may send in one minute: no SIM could ever
    send it (a message's parts go from one SIM). Refused before anything is queued."""

    def __init__(self, message: str, parts: int, limit: int) -> None:
        super().__init__(message)
        self.parts = parts
        self.limit = limit


class OptedOut(GatewayError):
    """A message by hand (``gateway send``, ``POST /api/v1/messages``) to a number that sent STOP:
    refused, nothing queued (a reply to a ticket still goes, as the customer asked)."""


class CapRefused(GatewayError):
    """A CAP 1.2 document was refused (not XML, too large, not CAP 1.2, against its rules, or
    not for us: no area of ours, a Cancel of an alert we never took): nothing changed. The
    message says why. ``gateway cap ingest`` exits 1; the API answers 422."""


class OutageError(GatewayError):
    """An outage request the library refuses (no area, an unknown area, an ETR in the past or
    not a time): nothing changed. The message names the field and the fix."""


class OutageConflict(OutageError):
    """An outage is not in a state that allows the change asked (update or restore one that is
    restored or cancelled): nothing changed. The API answers 409."""
