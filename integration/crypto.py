"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, with key rotation.

`server.encryption_key` holds one or more Fernet keys separated by commas, newest first: data is
encrypted with the first and decrypted with any (MultiFernet), so a key can be rotated without a
migration. Without one, a key is derived from `server.secret_key` (fine for the embedded default).
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    def __init__(self, encryption_key: str, secret_key: str):
        keys = [key.strip() for key in encryption_key.split(",") if key.strip()]
        if not keys:
            digest = hashlib.sha256(b"loyalty-bridge/at-rest/" + secret_key.encode()).digest()
            keys = [base64.urlsafe_b64encode(digest).decode()]
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode() if plain else ""

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key (for `loyalty keys rotate`)."""
        return self._fernet.rotate(token.encode()).decode() if token else ""
