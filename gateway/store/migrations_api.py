"""Schema migrations of the HTTP API (issue 14), from 11 on: appended to :data:`API_MIGRATIONS`,
never edited once released (the rules of :mod:`gateway.store.migrations`)."""

from __future__ import annotations

API_MIGRATIONS: list[tuple[int, str, str]] = []
