"""The SIM bank: each SIM as the daemon last published it -- state (and why), signal,
operator, SMS sent today against its quota, messages queued for it, balance, last error. Live:
a SIM whose state changes (``sim.state`` on the event stream) shows at once, and the figures
that change without an event (signal, counts) are re-read every few seconds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gateway.access.principal import Principal
from gateway.web.console.pages import Nav, page, render

router = APIRouter()
NAV = (Nav("sim_bank", "/sims", "sims.read", order=20),)
POLL_S = 5  # seconds between re-reads of the figures
SIGNAL_MAX = 31  # AT+CSQ's best signal (99: not known)


def signal_percent(signal: int | None) -> int | None:
    """AT+CSQ's 0..31 as a share of the best (None: unknown, 99 included)."""
    if signal is None or not 0 <= signal <= SIGNAL_MAX:
        return None
    return round(100 * signal / SIGNAL_MAX)


def quota_percent(sim: dict[str, Any]) -> int | None:
    sent, per_day = sim.get("sent_today"), sim.get("per_day")
    if sent is None or not per_day:
        return None
    return min(100, round(100 * int(sent) / int(per_day)))


@router.get("/sims")
async def sim_bank(request: Request, who: Annotated[Principal, Depends(page("sims.read"))]) -> Response:
    from gateway.sims.operations import statuses_of
    from gateway.web.auth import store_of

    sims = await statuses_of(store_of(request))
    configured = [m.id for m in request.app.state.config.modems]
    missing = [m for m in configured if m not in {s["modem_id"] for s in sims}]  # never published yet
    return render(
        request, who, "sims.html", sims=sims, missing=missing, poll=POLL_S, signal_percent=signal_percent,
        quota_percent=quota_percent,
    )  # fmt: skip
