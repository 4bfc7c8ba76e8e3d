"""Webhooks: the journal's events (:mod:`gateway.store.events`) posted to receivers, signed
as the CRM sync signs (``rules``: what a webhook may be and the retry schedule, pure;
``delivery``: the daemon's service; ``operations``: ``gateway webhooks add|list|remove``)."""
