"""CAP 1.2 (OASIS Common Alerting Protocol) in and out.

In: ``rules`` reads a document and checks it against the standard (pure), ``document`` is what
it reads into, ``mapping`` says what an alert means for our outages (pure), ``ingest`` does it
(``gateway cap ingest``, ``POST /api/v1/cap``). Out: ``publish`` writes every notice the
gateway sends as a CAP 1.2 alert and an Atom feed beside the public copy. docs/cap.md.
"""
