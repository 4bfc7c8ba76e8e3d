"""Outages as first-class records (issue 16): areas, an estimated restoration (ETR), staged
updates, a restoration check, reports linked to a known outage, and the early warning.

The library every face calls (the CLI's ``gateway outage``, ``/api/v1/outages``, CAP 1.2 in),
in :mod:`gateway.outages.operations`; each takes an open store (``Store``: the outage records
and the broadcast machinery, :class:`gateway.outages.notices.OutageStore`), the config and who
acts (``actor``: audited under that name), and returns an :class:`OutageResult` whose
``as_json()`` is what ``--json`` and the API show::

    declare(store, config, ["North"], cause="cable cut", eta="18:00", notify=True,
            dry_run=False, actor="cap", origin="cap:IDENTIFIER")        -> result.outage["id"]
    update(store, config, outage_id, eta="2026-12-03 09:00", note=None, notify=True, actor=...)
    restore(store, config, outage_id, check=True, notify=True, actor=...)
    cancel(store, config, outage_id, notify=False, actor=...)
    list_outages(store, config, status="active"), show_outage(store, config, outage_id)
    suggest(store, config)                                            -> [{"area", "reports", "since"}]

``eta`` is "HH:MM" (the next such local time), "YYYY-MM-DD HH:MM" (local) or an aware
datetime; a time in the past raises :class:`~gateway.exceptions.OutageError` (so do an unknown
area, an empty list of areas, a notice that needs an ETR without one), and a change to an
outage that is no longer active :class:`~gateway.exceptions.OutageConflict`; nothing is
written then. ``approval=True`` makes the notices wait for a second supervisor (the API passes
``[web] broadcast_approval``). ``dry_run=True`` writes nothing and returns the notices' plans (recipients per
language, parts, SIM capacity, the estimate) as ``gateway broadcast --dry-run`` shows them.
The notices are campaigns of the approved templates ``outage``, ``update`` and ``restored``
(:mod:`gateway.outages.notices`). Linking reports at intake and the conversation's replies are
in :mod:`gateway.inbound.routing` and :mod:`gateway.conversation.turns`. docs/outages.md.
"""

from gateway.outages.operations import (
    OutageResult,
    cancel,
    declare,
    list_outages,
    restore,
    show_outage,
    suggest,
    update,
)

__all__ = ["OutageResult", "cancel", "declare", "list_outages", "restore", "show_outage", "suggest", "update"]
