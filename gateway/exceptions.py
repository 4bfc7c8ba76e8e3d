"""Exceptions raised by the gateway, as one tree.

The CLI turns any :class:`GatewayError` into a one-line message and a
non-zero exit; nothing here carries a phone number or a message body.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class for everything the gateway raises on purpose."""


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


class CatalogueError(ConfigError):
    """The keyword catalogue or a template file is wrong."""


class StoreError(GatewayError):
    """The database cannot be opened, migrated or written."""


class NotFound(GatewayError):
    """A ticket, message or outbox row the user named does not exist."""


class SimulatorUnavailable(GatewayError):
    """``gateway simulate`` found no running simulated SIM bank to talk to."""
