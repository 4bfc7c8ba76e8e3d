"""``gateway serve``: the HTTP API beside the daemon (the console, issue 15, is built on it).

A process of its own: the database is the only thing it shares with the daemon, so either
may stop, crash or restart while the other goes on. The API is the desk's library operations
(:mod:`gateway.desk`, :mod:`gateway.access`, :mod:`gateway.hooks`, broadcasts) with a face for
other programs: JSON with the CLI's ``--json`` field names, bearer tokens (``gateway tokens``)
or a console session, the role table of :mod:`gateway.access.roles`, every write audited,
errors as ``application/problem+json`` (RFC 9457). ``docs/api.md`` is its manual;
``/api/v1/openapi.json`` its schema.

:mod:`~gateway.web.app` assembles the application; :mod:`~gateway.web.problems` answers
errors; :mod:`~gateway.web.auth` says who is asking and whether they may;
:mod:`~gateway.web.serve` runs it on uvicorn. Each area has its routes in a module of its own.
"""
