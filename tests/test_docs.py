"""The README's commands are the ones CI runs, and it documents every CLI command."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import click

from gateway import config as config_mod
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
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        path = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, path)
        else:
            out.append(path)
    return out


def test_every_command_is_in_the_readme() -> None:
    for command in _commands(main):
        assert f"`{command}`" in README, f"{command} is missing from the README's command table"


# ---------------------------------------------------------------- configuration reference

EXAMPLE = ROOT / "gateway.toml.example"


def _example_keys() -> dict[str, object]:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    keys: dict[str, object] = {}
    for section, table in raw.items():
        if section == "modems":
            for key, value in table[0].items():
                keys[f"modems[].{key}"] = value
        elif section == "operators":
            keys["operators.NAME"] = table
        else:
            for key, value in table.items():
                keys[f"{section}.{key}"] = value
    return keys


def _readme_rows() -> dict[str, str]:
    reference = README.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([\w\[\].]+)` \| `([^`]*)` \|", reference, re.M))


def test_the_configuration_reference_documents_every_key_of_the_example_and_nothing_else() -> None:
    example, rows = _example_keys(), _readme_rows()
    assert sorted(rows) == sorted(example)
    for key, value in example.items():
        if key.startswith(("modems[].", "operators.")):
            continue
        shown = rows[key]
        assert tomllib.loads(f"v = {shown}")["v"] == value, f"{key}: README says {shown}, the example {value!r}"


def test_the_example_shows_every_setting_the_code_knows_with_its_default() -> None:
    example = _example_keys()
    for section, cls in config_mod.SECTIONS.items():
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            assert key in example, f"{key} is missing from gateway.toml.example"
            assert example[key] == getattr(cls(), f.name), f"{key}: the example does not show the default"
    assert {k.split(".", 1)[1] for k in example if k.startswith("modems[].")} == set(config_mod.MODEM_KEYS)
    loaded = config_mod.load(EXAMPLE, environ={})  # and the example itself is valid
    assert loaded.modems[0].id == "m1" and loaded.logging.log_privacy is True
