"""Status reports -> outbox rows: ``sent`` becomes ``delivered`` or ``failed``.

Reports come two ways: straight from the modem (``+CDS``, a
:class:`~sim_bank.types.DeliveryReport` event) or stored on the SIM
(``+CDSI``; a sweep of the report memory hands them over like messages,
and the SIM copy is deleted after commit like any other).
"""

from __future__ import annotations

import structlog

from gateway.events import DeliveryReported, Observer
from gateway.store import STORE_ERRORS
from gateway.store.protocols import DeliveryBook
from sim_bank import StatusReport

log = structlog.get_logger("gateway.inbound.reports")


async def apply_report(
    store: DeliveryBook, modem_id: str, report: StatusReport, observer: Observer | None = None
) -> None:
    try:
        update = await store.apply_report(modem_id, report.reference, report.recipient, report.status)
    except STORE_ERRORS as exc:  # a report is advisory: the message is already marked sent
        log.error("delivery_report_unrecorded", modem_id=modem_id, reference=report.reference, error=str(exc))
        return
    if update is None:
        log.info("delivery_report_unmatched", modem_id=modem_id, reference=report.reference, status=report.status)
        return
    log.info(
        "delivery_report",
        modem_id=modem_id,
        outbox_id=update.outbox_id,
        part=update.part_status,
        message=update.message_status,
        status=report.status,
    )
    if observer is not None:
        observer(DeliveryReported(update.outbox_id, update.part_status, update.message_status))
