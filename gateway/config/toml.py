"""Line numbers for keys of a TOML file (tomllib keeps none), so errors can name them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from gateway.exceptions import CatalogueError


def read_toml(path: Path, setting: str) -> tuple[dict[str, Any], str]:
    """The parsed file and its text; a missing or unreadable file is a :class:`CatalogueError`
    naming ``setting``, the configuration key that points at it."""
    where = str(path)
    try:
        source = path.read_text(encoding="utf-8")
        return tomllib.loads(source), source
    except FileNotFoundError:
        raise CatalogueError(where, None, "file not found", f"set {setting} to an existing file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(where, None, f"cannot be read: {exc}", "save it as UTF-8 TOML") from None


class TomlLocator:
    """Best-effort line numbers for keys (tomllib does not keep them)."""

    def __init__(self, where: str, source: str) -> None:
        self.where = where
        self.lines = source.splitlines()

    def line(self, header: str, occurrence: int = 1, field: str | None = None) -> int | None:
        """Line of the ``occurrence``-th ``header``, or of ``field`` inside that table."""
        starts = [i for i, text in enumerate(self.lines) if text.strip() == header]
        if len(starts) < occurrence:
            return None
        start = starts[occurrence - 1]
        if field is not None:
            for j in range(start + 1, len(self.lines)):
                stripped = self.lines[j].strip()
                if stripped.startswith("["):
                    break
                if stripped.split("=", 1)[0].strip().split(".")[0] == field:
                    return j + 1
        return start + 1

    def error(
        self,
        key: str,
        problem: str,
        fix: str | None = None,
        *,
        header: str,
        occurrence: int = 1,
        field: str | None = None,
    ) -> CatalogueError:
        n = self.line(header, occurrence, field)
        where = f"{self.where}, line {n}" if n else self.where
        return CatalogueError(where, key, problem, fix)
