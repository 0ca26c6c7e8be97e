"""Lookup context carried by buttons, sealed so it is unreadable and tamper-proof.

A Next/Previous or "include paid" button must know whose invoices to fetch without asking
the agent to retype anything, yet its ``value`` travels through Slack and may not contain a
readable identity code. The context is encrypted and authenticated (AES-GCM, a random nonce
per value) with a key derived from the Slack signing secret, which every instance of the app
already shares, so any instance can open what another sealed. Sealed values expire.

A reply seals one value per button, a Details button per invoice among them, so sealing is
on every reply's path: AES-GCM does it in one call of a cipher object made once. Values
sealed by earlier versions (Fernet) still open until they expire, so a deploy does not turn
the buttons of replies already on screen into "expired".
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.query import Identifier, IdentifierKind, Query

CONTEXT_TTL_S = 8 * 60 * 60  # a working day's worth of paging through one reply
_VERSION = b"\x02"  # the first byte of a sealed value; Fernet's (version 1) is 0x80
_NONCE_BYTES = 12
_CLOCK_SKEW_S = 60  # instances' clocks differ a little: a value "from the future" by this is fine


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

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        ttl_s: int = CONTEXT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Without a shared secret (demo, tests) a random key works for this process only.
        material = secret if secret is not None else secrets.token_bytes(32)
        self._aead = AESGCM(_derive(material, b"ropo-invoices-bot/context/v2"))
        # Opens what version 1 sealed; never used to seal.
        self._fernet = Fernet(
            base64.urlsafe_b64encode(_derive(material, b"ropo-invoices-bot/context/v1"))
        )
        self._ttl_s = ttl_s
        self._clock = clock

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
        payload["t"] = int(self._clock())
        plain = orjson.dumps(payload)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _VERSION + nonce + self._aead.encrypt(nonce, plain, _VERSION)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, sealed: str) -> LookupContext:
        """Decrypt a sealed value; :class:`ContextError` if it is expired, forged or garbled."""
        try:
            data = orjson.loads(self._unseal(sealed))
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
        except (InvalidToken, InvalidTag, ValueError, KeyError, TypeError, UnicodeError):
            raise ContextError("button context is expired or was not sealed by this app") from None

    def _unseal(self, sealed: str) -> bytes:
        """The plaintext of a current or a version-1 value; raises if forged or expired."""
        if sealed.startswith("gAAAAA"):  # Fernet's version byte, base64-encoded
            return self._fernet.decrypt(sealed.encode(), ttl=self._ttl_s)
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except binascii.Error:
            raise ValueError("not base64") from None
        if raw[:1] != _VERSION or len(raw) <= 1 + _NONCE_BYTES:
            raise ValueError("not a sealed context")
        nonce, body = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        plain = self._aead.decrypt(nonce, body, _VERSION)
        sealed_at = orjson.loads(plain)["t"]
        age = self._clock() - int(sealed_at)
        if age > self._ttl_s or age < -_CLOCK_SKEW_S:
            raise ValueError("expired")
        return plain


def _derive(material: bytes, info: bytes) -> bytes:
    """A 256-bit key for one use of the shared secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)
