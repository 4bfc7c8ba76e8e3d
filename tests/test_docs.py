"""The README's commands are the ones CI runs, and it documents every CLI command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from gateway.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _first_block() -> list[str]:
    m = re.search(r"```sh\n(.*?)```", README, re.S)
    assert m, "README must start with a sh code block"
    return [line for line in m.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands() -> None:
    head = README.split("```sh", 1)[0]
    assert head.strip().startswith("# ") and head.count("\n") <= 2, "nothing but the title before the two commands"
    commands = _first_block()
    assert len(commands) == 2
    assert "gateway demo" in commands[0] and "pytest" in commands[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _first_block()[1] in ci


def _commands(group: click.Group, prefix: str = "gateway") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, path)
        else:
            out.append(path)
    return out


def test_every_command_is_in_the_readme() -> None:
    for command in _commands(main):
        assert f"`{command}`" in README, f"{command} is missing from the README's command table"
