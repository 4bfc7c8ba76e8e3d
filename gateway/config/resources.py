"""Where the shipped data (``config/``) is: in a checkout, or inside the installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_config_dir() -> Path:
    """The directory holding the default ``keywords.toml`` and templates.

    A checkout (and an editable install) reads ``config/`` beside the
    packages, so edits show at once; a wheel carries the same files as
    ``gateway/_config`` (see ``pyproject.toml``).
    """
    checkout = Path(__file__).resolve().parents[2] / "config"
    if (checkout / "keywords.toml").is_file():
        return checkout
    return Path(str(resources.files("gateway").joinpath("_config")))


def shipped(name: str) -> Path:
    return shipped_config_dir() / name
