"""Reading ``gateway.toml``: tomllib, then every value checked against its dataclass.

A bad setting is reported and keeps its default, so that one run finds every problem:
one raises :class:`~gateway.exceptions.ConfigError`, several
:class:`~gateway.exceptions.ConfigErrors`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import stat
import types
import typing
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config.sections import BAUDRATES, CRM_ENV, MODEM_KEYS, SECRET_KEYS, SECTIONS, Config, SimPolicy
from gateway.exceptions import ConfigError
from sim_bank.ports import parse_port, port_problem

if TYPE_CHECKING:
    from gateway.config.checks import Problems
    from sim_bank import ModemConfig

_MODEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def load(path: Path | str | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``; ``None`` gives the defaults (no modems). ``GATEWAY_CRM_*``
    variables in ``environ`` (default: the process environment) override ``[crm]``."""
    config = _load_file(path)
    env = os.environ if environ is None else environ
    # a variable set to "" counts too: GATEWAY_CRM_URL= turns sync off whatever the file says
    overrides: dict[str, Any] = {key: env[var].strip() for key, var in CRM_ENV.items() if var in env}
    if not overrides:
        return config
    config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, **overrides))
    from gateway.config.checks import Problems, validate_crm

    problems = Problems()
    validate_crm(config, f"{config.path or 'environment'} ({', '.join(CRM_ENV[k] for k in overrides)})", problems)
    problems.raise_any()
    return config


def secrets_exposed(config: Config) -> str | None:
    """Why the config file is a risk, or None: it holds a secret (a SIM PIN, the CRM token or
    signing secret, as opposed to ones from the environment) and users other than its owner
    and group can read or write it."""
    import tomllib

    path = config.path
    if path is None:
        return None
    try:
        mode = path.stat().st_mode
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not mode & (stat.S_IROTH | stat.S_IWOTH):
        return None
    crm = raw.get("crm")
    crm = crm if isinstance(crm, dict) else {}
    held = [f"crm.{key}" for key in ("token", "secret") if crm.get(key)]
    modems = raw.get("modems")
    modems = modems if isinstance(modems, list) else []
    if any(isinstance(m, dict) and m.get("pin") for m in modems):
        held.append("a modem's pin")
    if not held:
        return None
    who = "every user of this machine can read it"
    return f"{path} holds secrets ({', '.join(held)}) and {who} (mode {stat.filemode(mode)})"


def _load_file(path: Path | str | None) -> Config:
    if path is None:
        return Config()
    import tomllib

    path = Path(path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, None, "file not found", "pass -c with the path of your gateway.toml") from None
    except UnicodeDecodeError:
        raise ConfigError(where, None, "not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, None, f"not valid TOML: {exc}", "fix the syntax at that line") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> Config:
    """Validate ``raw`` (the TOML of ``path``) into a :class:`Config`. Every error is found in one
    pass: one raises :class:`ConfigError`, several :class:`ConfigErrors`."""
    from gateway.config.checks import Problems, validate

    where = str(path)
    problems = Problems()
    known = {*SECTIONS, "modems", "operators", "areas"}
    for key in raw:
        if key not in known:
            problems.errors.append(ConfigError(where, key, "unknown section", _did_you_mean(key, known)))
    sections = {name: _build(cls, raw.get(name, {}), where, name, problems) for name, cls in SECTIONS.items()}
    quotas = sections["quotas"]
    defaults = {
        "sweep_interval": sections["receive"].sweep_interval,
        "send_timeout": sections["send"].send_timeout,
        "health_interval": sections["health"].poll_interval,
        "cell_broadcast": sections["cell_broadcast"].channels.strip(),
        "per_minute": quotas.per_minute,
        "per_day": quotas.per_day,
        "reply_reserve": quotas.reply_reserve,
    }
    operators = _operators(raw.get("operators", {}), where, problems)
    areas = _areas(raw.get("areas", {}), where, problems)
    numbered = _modems(raw.get("modems", []), where, defaults, problems)
    for n, _modem, sim in numbered:
        if sim.operator is not None and operators and sim.operator not in operators:
            problems.errors.append(ConfigError(
                where,
                f"modems[{n}].operator",
                f"{sim.operator!r} is not in [operators]",
                _did_you_mean(sim.operator, operators),
            ))  # fmt: skip
    crm = sections["crm"]
    sections["crm"] = dataclasses.replace(crm, token=crm.token.strip(), secret=crm.secret.strip())
    modems = tuple(m for _n, m, _s in numbered)
    sims = {m.id: s for _n, m, s in numbered}
    config = Config(path=path.resolve(), modems=modems, sims=sims, operators=operators, areas=areas, **sections)
    validate(config, where, problems, [n for n, _m, _s in numbered])
    problems.raise_any()
    return config


def _did_you_mean(key: str, choices: typing.Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(choices), n=1)
    known = ", ".join(sorted(choices))
    return f"did you mean '{close[0]}'?" if close else f"known keys: {known}"


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "a table"}.get(
        t, str(t)
    )


def _coerce(value: Any, hint: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        hint = options[0]
    if typing.get_origin(hint) is dict:
        hint = dict  # a table ([cap] areas): its entries are checked in gateway.config.checks
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(where, key, f"must be a finite number, not {value}")
    shown = "(hidden)" if key.rsplit(".", 1)[-1] in SECRET_KEYS else repr(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(where, key, f"must be true or false, not {shown}")
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(where, key, f"must be {_type_name(hint)}, not {shown}")
    if not isinstance(value, hint):
        raise ConfigError(where, key, f"must be {_type_name(hint)}, not {shown}")
    return value


def _build(cls: type, table: Any, where: str, section: str, problems: Problems) -> Any:
    """The section as ``cls``; a bad setting is reported and keeps its default (so that the
    checks after it still run)."""
    if not isinstance(table, dict):
        problems.errors.append(ConfigError(where, section, "must be a table", f"write it as [{section}]"))
        return cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        with problems.check():
            if key not in names:
                raise ConfigError(where, f"{section}.{key}", "unknown setting", _did_you_mean(key, names))
            values[key] = _coerce(value, hints[key], where, f"{section}.{key}")
    return cls(**values)


def _modems(
    entries: Any, where: str, defaults: dict[str, Any], problems: Problems
) -> list[tuple[int, ModemConfig, SimPolicy]]:
    """The valid ``[[modems]]``, each with its number (``modems[2]``) and its SIM's policy; the
    others are reported."""
    from sim_bank import ModemConfig

    if not isinstance(entries, list):
        problems.errors.append(
            ConfigError(where, "modems", "must be a list of tables", "write each modem as [[modems]]")
        )
        return []
    hints = {**typing.get_type_hints(ModemConfig), **typing.get_type_hints(SimPolicy)}
    policy_keys = {f.name for f in dataclasses.fields(SimPolicy)}
    out: list[tuple[int, ModemConfig, SimPolicy]] = []
    seen: set[str] = set()
    ports: dict[str, tuple[str, str]] = {}  # the device a port names -> (modem key, port as written)
    for n, entry in enumerate(entries, start=1):
        key = f"modems[{n}]"
        before = len(problems.errors)
        if not isinstance(entry, dict):
            problems.errors.append(ConfigError(where, key, "must be a table", "write it as [[modems]]"))
            continue
        values: dict[str, Any] = dict(defaults)
        for k, v in entry.items():
            with problems.check():
                if k not in MODEM_KEYS:
                    raise ConfigError(where, f"{key}.{k}", "unknown setting", _did_you_mean(k, MODEM_KEYS))
                target = MODEM_KEYS[k]
                if target == "pin" and isinstance(v, int) and not isinstance(v, bool):
                    raise ConfigError(
                        where, f"{key}.pin", "must be a quoted string", 'write pin = "0123" (quotes keep a leading 0)'
                    )
                values[target] = _coerce(v, hints[target], where, f"{key}.{k}")
        missing = [r for r in ("id", "port") if values.get(r) in ("", None)]
        for required in missing:
            problems.errors.append(ConfigError(
                where, f"{key}.{required}", "is required", 'e.g. id = "m1", port = "/dev/serial/by-id/..."'
            ))  # fmt: skip
        if missing:
            continue
        if values.get("pin") == "":
            values["pin"] = None
        if values.get("balance_ussd"):
            code = ascii_digits(str(values["balance_ussd"])).replace(" ", "")
            if re.fullmatch(r"[0-9*#+]+", code):
                values["balance_ussd"] = code
            else:
                problems.errors.append(ConfigError(where, f"{key}.balance_ussd",
                                       f"{values['balance_ussd']!r} is not a USSD code",
                                       'digits, * and # only, e.g. balance_ussd = "*140*11#"'))  # fmt: skip
        sim = SimPolicy(**{k: v for k, v in values.items() if k in policy_keys})
        modem = ModemConfig(**{k: v for k, v in values.items() if k not in policy_keys})
        if not _MODEM_ID.match(modem.id):
            problems.errors.append(ConfigError(
                where, f"{key}.id", f"{modem.id!r} is not a usable id", "use letters, digits, - _ . (at most 32)"
            ))  # fmt: skip
        if modem.id in seen:
            problems.errors.append(
                ConfigError(where, f"{key}.id", f"{modem.id!r} is used twice", "give every modem its own id")
            )
        if modem.baudrate not in BAUDRATES:
            problems.errors.append(ConfigError(
                where, f"{key}.baudrate", f"{modem.baudrate} is not a serial speed", f"use one of {BAUDRATES}"
            ))  # fmt: skip
        if modem.own_number and not re.fullmatch(r"\+[1-9][0-9]{6,14}", modem.own_number):
            problems.errors.append(ConfigError(
                where, f"{key}.number", f"{modem.own_number!r} is not +E.164", 'write it as "+989121234567"'
            ))  # fmt: skip
        wrong = port_problem(modem.port)
        if wrong is not None:
            problems.errors.append(ConfigError(where, f"{key}.port", *wrong))
        device = port_device(modem.port)
        if device in ports:
            other, written = ports[device]
            same = "" if written == modem.port else f" ({written}): the same device"
            problems.errors.append(ConfigError(
                where, f"{key}.port", f"{modem.port} is also {other}'s port{same}",
                "one modem per port: two workers on one serial port garble each other's AT commands",
            ))  # fmt: skip
        ports.setdefault(device, (key, modem.port))
        seen.add(modem.id)
        if len(problems.errors) == before:
            out.append((n, modem, sim))
    return out


def port_device(port: str) -> str:
    """What a modem's port names, to find two modems on one: a local device with its links
    resolved (``/dev/serial/by-id/...`` is ``/dev/ttyUSB0``), a network port by its host and TCP port."""
    if "://" in port:
        with contextlib.suppress(ValueError):  # rfc2217:// and socket:// to one host:port: one modem
            return f"tcp:{parse_port(port).endpoint}"
        return port.strip().lower()
    return os.path.realpath(os.path.expanduser(port))


def _operators(table: Any, where: str, problems: Problems) -> dict[str, tuple[str, ...]]:
    """``[operators]``: each network's number prefixes (a message goes from a SIM of its own network)."""
    return _prefixes(table, where, problems, "operators", r"\+[0-9]{2,12}",
                     ('e.g. [operators] MCI = ["+98912"]', "must be a list of number prefixes",
                      'write them as "+98912"'))  # fmt: skip


def _areas(table: Any, where: str, problems: Problems) -> dict[str, tuple[str, ...]]:
    """``[areas]``: each area's account-number prefixes (a report's account maps to its area)."""
    return _prefixes(table, where, problems, "areas", r"[0-9]{1,12}",
                     ('e.g. [areas] North = ["48", "49"]', "must be a list of account-number prefixes",
                      'write them as "48" (digits)'))  # fmt: skip


def _prefixes(
    table: Any, where: str, problems: Problems, section: str, pattern: str, words: tuple[str, str, str]
) -> dict[str, tuple[str, ...]]:
    """A table of name -> list of prefixes each matching ``pattern``; ``words``: the example for a
    section that is no table, the problem and the fix for an entry that is wrong (reported, skipped)."""
    example, problem, fix = words
    if not isinstance(table, dict):
        problems.errors.append(ConfigError(where, section, "must be a table", example))
        return {}
    out = {}
    for name, prefixes in table.items():
        if not isinstance(prefixes, list) or not all(isinstance(p, str) and re.fullmatch(pattern, p) for p in prefixes):
            problems.errors.append(ConfigError(where, f"{section}.{name}", problem, fix))
            continue
        out[name] = tuple(prefixes)
    return out


def ascii_digits(text: str) -> str:
    """Digits of any script (Persian, Arabic-Indic, full-width...) as ASCII digits (a
    ``balance_ussd`` typed on a Persian keyboard; :mod:`gateway.conversation.text` uses it too)."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)
