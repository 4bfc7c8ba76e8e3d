"""Logs mask customers' numbers and words unless told otherwise."""

from __future__ import annotations

import io
import json

import structlog

from gateway import logs


def _capture(privacy: bool) -> dict[str, object]:
    stream = io.StringIO()
    logs.configure(level="info", fmt="json", privacy=privacy, stream=stream)
    structlog.get_logger("t").info(
        "sms_routed", sender="+989121234567", text="قطع ۴۸۲۱۳ my address is ...", reason="from +989121234567 today"
    )
    return json.loads(stream.getvalue().strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_numbers_and_bodies_are_masked_by_default() -> None:
    event = _capture(privacy=True)
    assert event["sender"] == "+98*******567"
    assert event["text"] == "<27 chars>"
    assert "9121234" not in json.dumps(event)  # also inside free text


def test_privacy_off_logs_everything() -> None:
    event = _capture(privacy=False)
    assert event["sender"] == "+989121234567" and str(event["text"]).startswith("قطع")


def test_mask_phone_keeps_the_last_three_digits() -> None:
    assert logs.mask_phone("+989121234567") == "+98*******567"
    assert logs.mask_phone("09121234567") == "********567"
    assert logs.mask_phone("123") == "123"


def test_secrets_are_hidden_even_with_privacy_off() -> None:
    stream = io.StringIO()
    logs.configure(level="info", fmt="json", privacy=False, stream=stream)
    structlog.get_logger("t").info("crm", token="t0ken-123", secret="s3cret-456", pin="1234", url="https://crm")
    line = stream.getvalue()
    assert "t0ken-123" not in line and "s3cret-456" not in line and '"pin": "<hidden>"' in line
    assert '"url": "https://crm"' in line
