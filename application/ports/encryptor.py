"""The encryptor port: how secret values are sealed before they reach storage."""

from __future__ import annotations

from typing import Protocol


class Encryptor(Protocol):
    def encrypt(self, plaintext: str) -> bytes:
        """Authenticated ciphertext for `plaintext`."""
        ...

    def decrypt(self, token: bytes) -> str:
        """The plaintext of a value `encrypt` produced; raises if the key does not match."""
        ...
