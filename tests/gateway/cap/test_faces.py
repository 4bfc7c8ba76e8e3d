"""``gateway cap ingest`` and ``POST /api/v1/cap``: the same library, their answers and exit codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main
from tests.gateway.cap.shared import alert
from tests.gateway.cap.site import later, site_config, with_contacts
from tests.gateway.web.api import serving


def _cli(config_path: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["cap", "ingest", "-c", str(config_path), *args], input=stdin)
    return result.exit_code, result.output


def test_the_cli_acts_once_dry_runs_a_test_and_exits_1_on_a_refused_document(tmp_path: Path) -> None:
    config = site_config(tmp_path)

    async def contacts() -> None:
        await (await with_contacts(config)).close()

    asyncio.run(contacts())
    assert config.path is not None
    document = tmp_path / "alert.xml"
    document.write_bytes(alert(status="Exercise", expires=later(8)))
    code, out = _cli(config.path, str(document))
    assert code == 0 and "DRY RUN" in out and "areas: North" in out

    document.write_bytes(alert(expires=later(8), etr=later(3)))
    code, out = _cli(config.path, str(document), "--json", "--as", "hub")
    assert code == 0, out
    taken = json.loads(out)
    assert (taken["outcome"], taken["areas"], taken["outage_id"]) == ("declared", ["North"], 1)
    code, out = _cli(config.path, "-", stdin=document.read_bytes())  # stdin, a second time
    assert code == 0 and "Already taken in" in out and "nothing changed" in out

    code, out = _cli(config.path, "-", stdin=b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>")
    assert code == 1 and "alert/identifier is required" in out


async def test_the_api_takes_a_cap_alert_from_an_integration(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    await store.close()
    xml = {"Content-Type": "application/cap+xml"}
    async with serving(config) as api:
        refused = await api.send("POST", "/api/v1/cap", role="agent", content=alert(expires=later(8)), headers=xml)
        assert refused.status_code == 403  # an agent may not; before the body is read

        made = await api.send("POST", "/api/v1/cap", role="integration", content=alert(expires=later(8)), headers=xml)
        assert made.status_code == 201, made.text
        assert (made.json()["outcome"], made.json()["areas"]) == ("declared", ["North"])
        again = await api.send("POST", "/api/v1/cap", role="integration", content=alert(expires=later(8)), headers=xml)
        assert (again.status_code, again.json()["outcome"]) == (200, "seen")

        bad = alert(identifier="other", expires=later(8)).replace(b"<scope>Public</scope>", b"")
        answer = await api.send("POST", "/api/v1/cap", role="integration", content=bad, headers=xml)
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "alert/scope is required" in answer.json()["detail"]
        as_json = await api.send("POST", "/api/v1/cap", role="integration", content=b"{}",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
        assert as_json.status_code == 415
        huge = await api.send("POST", "/api/v1/cap", role="integration", content=b" " * 300_000, headers=xml)
        assert huge.status_code == 413
        audit = (await api.get("/api/v1/audit?actor=integration-token", role="admin")).json()
        assert [e["action"] for e in audit if e["action"].startswith("cap.")] == ["cap.ingested"]
