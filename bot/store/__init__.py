"""Where the app keeps state: the audit trail, the rate limit's hits and agents' settings.

One interface (:class:`bot.store.base.Store`), two implementations: SQLite at ``AUDIT_DB``
(the embedded default, shared by the processes of one host) and PostgreSQL at
``DATABASE_URL`` (shared by instances on any host). :mod:`bot.store.open` picks one.
"""
