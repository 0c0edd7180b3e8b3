"""Encryption of secret values at rest, with a key derived from the operator's SECRET_KEY.

SECRET_KEY is any string the operator chooses; HKDF-SHA256 stretches it into the 32-byte
key Fernet needs (AES-128-CBC with an HMAC-SHA256 tag), so tokens are authenticated and a
wrong key is detected rather than producing garbage. The fixed `info` string ties derived
keys to this use and version: another feature deriving from the same SECRET_KEY with its
own `info` gets an unrelated key.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"treadle-secrets-v1"


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted: SECRET_KEY changed, or the value is corrupt."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


def derive_fernet_key(secret_key: str) -> bytes:
    """The url-safe base64 Fernet key for `secret_key`; the same input always gives the same key."""
    if not secret_key:
        raise ValueError("SECRET_KEY must not be empty.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


class SecretCipher:
    """Encrypts with SECRET_KEY; decrypts with it or any of `previous_keys`, for rotation."""

    def __init__(self, secret_key: str, *, previous_keys: Sequence[str] = ()) -> None:
        keys = [secret_key, *previous_keys]
        self._fernet = MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])

    def __repr__(self) -> str:
        return "SecretCipher(<key hidden>)"

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError) as error:
            raise SecretDecryptionError() from error

    def rotate(self, token: bytes) -> bytes:
        """`token` re-encrypted under the current SECRET_KEY (it may use a previous one)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as error:
            raise SecretDecryptionError() from error
