"""The store a command works on: the database of its config, opened as the config says."""

from __future__ import annotations

from gateway.config import Config
from gateway.store import Store


async def open_store(config: Config, *, create: bool = False) -> Store:
    """The configured database. Only commands that must write (``send``, contacts import,
    ``broadcast``) pass ``create``: for the others a missing file is an error naming the path
    (:class:`DatabaseMissing`) -- a typo in a path must not look like an empty gateway."""
    return await Store.open(
        config.database_path,
        site=config.site.id,
        busy_timeout=config.storage.busy_timeout,
        create=create,
        group=config.storage.group or None,
    )
