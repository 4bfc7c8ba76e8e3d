"""Structured logging, configured once (structlog).

Event names are snake_case (``sms_received``, ``ticket_opened``), data goes in
keys, and ``modem_id`` / ``ticket_id`` are bound with contextvars. Phone
numbers keep only their last three digits and message bodies are replaced by
their length, unless ``log_privacy = false``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

PHONE_KEYS = frozenset({"phone", "sender", "to", "number", "recipient", "from_"})
BODY_KEYS = frozenset({"text", "body", "reply", "pdu", "note"})
# never logged, whatever log_privacy says
SECRET_KEYS = frozenset({"token", "secret", "pin", "password", "authorization", "signature"})
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d ]{5,}\d")

_state: dict[str, Any] = {"privacy": True, "stream": None}


def mask_phone(value: object) -> str:
    """``+989121234567`` -> ``+98*******567``: enough to tell two customers apart, not to call them."""
    s = str(value)
    digits = sum(ch.isdigit() for ch in s)
    if digits <= 3:
        return s
    keep_head = 3 if s.startswith("+") else 0
    out = []
    seen = 0
    for i, ch in enumerate(s):
        if ch.isdigit():
            seen += 1
            out.append(ch if i < keep_head or seen > digits - 3 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_body(value: object) -> str:
    return f"<{len(str(value))} chars>"


def _scrub(value: str) -> str:
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), value)


def privacy_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask numbers and bodies in every event (also numbers that slipped into free text).
    Secrets are removed even with privacy off."""
    for key in SECRET_KEYS & event.keys():
        event[key] = "<hidden>"
    if not _state["privacy"]:
        return event
    for key, value in list(event.items()):
        if value is None or key in ("timestamp", "level"):
            continue
        if key in PHONE_KEYS:
            event[key] = mask_phone(value)
        elif key in BODY_KEYS:
            event[key] = mask_body(value)
        elif isinstance(value, str):
            event[key] = _scrub(value)
    return event


def configure(
    level: str = "info",
    fmt: str = "auto",
    privacy: bool = True,
    file: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog (and quieten the libraries that log message contents)."""
    _state["privacy"] = privacy
    if stream is None:
        stream = open(file, "a", encoding="utf-8", buffering=1) if file else sys.stderr  # noqa: SIM115 - lives as long as the process
    _state["stream"] = stream
    json_output = fmt == "json" or (fmt == "auto" and not (hasattr(stream, "isatty") and stream.isatty()))
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            privacy_processor,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # python-gsmmodem and pyserial log every AT line at DEBUG, PDUs (numbers, texts) included.
    library_level = logging.DEBUG if (level == "debug" and not privacy) else logging.WARNING
    for name in ("gsmmodem", "serial"):
        logging.getLogger(name).setLevel(library_level)
    for name in ("httpx", "httpcore"):  # request lines (URLs with query strings) at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
