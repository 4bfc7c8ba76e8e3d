"""The official CAP 1.2 schema and six genuine alerts, used where they are (``../shared/cap/``
beside the project: never copied in); tests that need them skip, saying so, without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "cap"
SCHEMA = SHARED / "schema" / "CAP-v1.2.xsd"
REAL = SHARED / "real"
REAL_ALERTS = sorted(REAL.glob("*.cap")) if REAL.is_dir() else []

needs_shared = pytest.mark.skipif(not SCHEMA.is_file(), reason=f"the CAP 1.2 schema is not at {SCHEMA}")


def schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


def alert(
    *,
    identifier: str = "tavanir-2026-0001",
    sender: str = "ops@tavanir.example",
    sent: str = "2026-12-02T10:00:00+03:30",
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str = "",
    infos: str | None = None,
    expires: str = "2026-12-02T18:00:00+03:30",
    etr: str | None = None,
) -> bytes:
    """A CAP 1.2 alert for our North area in Persian and English (``infos`` to replace them)."""
    parameter = f"<parameter><valueName>ETR</valueName><value>{etr}</value></parameter>" if etr else ""

    def info(language: str, headline: str, desc: str, instruction: str) -> str:
        return (
            f"<info><language>{language}</language><category>Infra</category><event>Power outage</event>"
            "<urgency>Immediate</urgency><severity>Moderate</severity><certainty>Observed</certainty>"
            f"<expires>{expires}</expires><headline>{headline}</headline>"
            f"<description>Feeder 12 tripped.</description><instruction>{instruction}</instruction>{parameter}"
            f"<area><areaDesc>{desc}</areaDesc></area></info>"
        )

    if infos is None:
        infos = info("fa-IR", "قطعی برق شمال تهران", "شمال تهران", "از سیم‌های افتاده دوری کنید") + info(
            "en-US", "Power cut in North Tehran", "Tehran - North", "Keep away from fallen lines"
        )
    refs = f"<references>{references}</references>" if references else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>{sender}</sender><sent>{sent}</sent>"
        f"<status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}{infos}</alert>"
    ).encode()
