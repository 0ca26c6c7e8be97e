"""The audit trail: one row per lookup attempt, with a keyed hash in place of the identifier."""

from bot.audit.store import AgentSettings, AuditQuery, AuditRow, AuditStore, AuditWriteError
from bot.audit.trail import AuditTrail, Outcome, audit_key, identifier_hash

__all__ = [
    "AgentSettings",
    "AuditQuery",
    "AuditRow",
    "AuditStore",
    "AuditTrail",
    "AuditWriteError",
    "Outcome",
    "audit_key",
    "identifier_hash",
]
