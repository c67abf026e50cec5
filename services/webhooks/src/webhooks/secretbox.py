"""Signing secrets sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256) under the keys of
``SECRET_ENCRYPTION_KEYS``. A secret is shown once, when it is made, and never read back
through the API; only the delivery worker opens it, to sign."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as exc:
            raise ValueError("a signing secret was sealed with a key no longer configured") from exc

    def reseal(self, sealed: bytes) -> bytes:
        """Sealed again under the first key (after a key rotation)."""
        return self._fernet.rotate(sealed)
