"""Lookup context carried by buttons, sealed so it is unreadable and tamper-proof.

A Next/Previous or "include paid" button must know whose invoices to fetch without asking
the agent to retype anything, yet its ``value`` travels through Slack and may not contain a
readable identity code. The context is encrypted and authenticated (Fernet: AES-128-CBC +
HMAC-SHA256) with a key derived from the Slack signing secret, which every instance of the
app already shares, so any instance can open what another sealed. Sealed values expire.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.query import Identifier, IdentifierKind, Query

CONTEXT_TTL_S = 8 * 60 * 60  # a working day's worth of paging through one reply


class ContextError(Exception):
    """A button's context cannot be used: it expired, or it was not sealed by us."""


MAX_SEALED_LINK = 900
"""A longer MyRopo link is left out of a Details button: sealed, it could pass Slack's 2,000."""


@dataclass(frozen=True, slots=True)
class LookupContext:
    """What a button needs to repeat a lookup: the query and which page to show.

    A Details button also names the invoice's Ropo job id and its MyRopo link (the job
    details Ropo One sends have no link).
    """

    query: Query
    page: int = 0
    job_id: int | None = None
    my_ropo_link: str | None = None


class ContextSealer:
    """Seals :class:`LookupContext` into an opaque string and opens it again."""

    def __init__(self, secret: bytes | None = None, *, ttl_s: int = CONTEXT_TTL_S) -> None:
        # Without a shared secret (demo, tests) a random key works for this process only.
        material = secret if secret is not None else secrets.token_bytes(32)
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"ropo-invoices-bot/context/v1"
        ).derive(material)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._ttl_s = ttl_s

    def seal(self, context: LookupContext) -> str:
        """Encrypt ``context`` into a value safe to put in a button (well under 2,000 chars)."""
        identifier = context.query.identifier
        payload: dict[str, str | int] = {
            "k": identifier.kind.value,
            "v": identifier.value,
            "a": int(context.query.include_paid),
            "p": context.page,
        }
        if context.job_id is not None:
            payload["j"] = context.job_id
            link = context.my_ropo_link
            if link is not None and len(link) <= MAX_SEALED_LINK:
                payload["l"] = link
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def open(self, sealed: str) -> LookupContext:
        """Decrypt a sealed value; :class:`ContextError` if it is expired, forged or garbled."""
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode(), ttl=self._ttl_s))
            identifier = Identifier(IdentifierKind(data["k"]), str(data["v"]))
            query = Query(identifier, include_paid=bool(data["a"]))
            job_id = data.get("j")
            link = data.get("l")
            return LookupContext(
                query,
                page=max(0, int(data["p"])),
                job_id=int(job_id) if job_id is not None else None,
                my_ropo_link=str(link) if link is not None else None,
            )
        except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
            raise ContextError("button context is expired or was not sealed by this app") from None
