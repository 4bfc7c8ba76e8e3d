"""Who may do what: users with passwords, API tokens, roles and their rights, the audit log.

The foundation the HTTP API signs people and systems in with (``gateway serve``); the
command line manages it (``gateway users``, ``gateway tokens``, ``gateway audit``).
:mod:`~gateway.access.roles` is the table of rights (pure); :mod:`~gateway.access.hashing`
hashes passwords (argon2id) and tokens (SHA-256); :mod:`~gateway.access.users` and
:mod:`~gateway.access.tokens` add, change and verify them; :mod:`~gateway.access.audit`
reads the audit log that every write adds to (``gateway.store.audit.record``).
"""
