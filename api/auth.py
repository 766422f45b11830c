"""API keys: kept only as SHA-256 hashes, compared in constant time; each key owns its own jobs.

A caller is identified by a short prefix of its key's hash (``key-1a2b…``), the owner stored with
its jobs, so neither the database nor the logs ever hold a key. Open mode (no keys, enabled on
purpose) gives every caller the same owner, ``open``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from advisor.exceptions import AuthenticationError

__all__ = ["Caller", "KeyRing", "hash_key"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: the owner id its jobs are stored under."""

    owner: str


class KeyRing:
    """The configured keys, hashed; :meth:`authenticate` turns an ``Authorization`` header into a :class:`Caller`."""

    def __init__(self, keys: Sequence[SecretStr | str], *, open_access: bool = False) -> None:
        self._hashes = [hash_key(k.get_secret_value() if isinstance(k, SecretStr) else k) for k in keys]
        self.open = open_access and not self._hashes

    def __repr__(self) -> str:
        return f"KeyRing({len(self._hashes)} key(s), open={self.open})"

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller for ``Authorization: Bearer KEY``; raises :class:`AuthenticationError` otherwise."""
        if self.open:
            return Caller(owner="open")
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationError(
                "This service needs an API key: send the header 'Authorization: Bearer KEY' "
                "(AdvisorClient(..., api_key=KEY)).",
                details={"scheme": "Bearer"},
            )
        presented = hash_key(key.strip())
        match = None
        for stored in self._hashes:  # look at every key: the time taken does not say which one matched
            if hmac.compare_digest(presented, stored):
                match = stored
        if match is None:
            raise AuthenticationError(
                "The API key is not valid for this service. Check the key, or ask the operator for one.",
                details={"scheme": "Bearer"},
            )
        return Caller(owner=f"key-{match[:16]}")
