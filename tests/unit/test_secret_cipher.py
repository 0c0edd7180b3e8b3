"""Secret encryption with a key derived from SECRET_KEY, and the in-memory secret store."""

from __future__ import annotations

import pytest

from adapters.secrets.crypto import SecretCipher, SecretDecryptionError, derive_fernet_key


def test_a_value_round_trips():
    cipher = SecretCipher("correct horse battery staple")

    assert cipher.decrypt(cipher.encrypt("sk-live-123 ✓")) == "sk-live-123 ✓"


def test_the_token_does_not_contain_the_value_and_differs_each_time():
    cipher = SecretCipher("k")
    first, second = cipher.encrypt("hunter2"), cipher.encrypt("hunter2")

    assert b"hunter2" not in first
    assert first != second


def test_the_same_secret_key_decrypts_in_another_process():
    token = SecretCipher("shared key").encrypt("value")

    assert SecretCipher("shared key").decrypt(token) == "value"


def test_key_derivation_is_stable_and_key_dependent():
    assert derive_fernet_key("a") == derive_fernet_key("a")
    assert derive_fernet_key("a") != derive_fernet_key("b")
    assert len(derive_fernet_key("a")) == 44  # 32 bytes, url-safe base64


def test_a_wrong_key_raises_a_clear_error():
    token = SecretCipher("right").encrypt("value")

    with pytest.raises(SecretDecryptionError, match="SECRET_KEY changed"):
        SecretCipher("wrong").decrypt(token)


def test_a_corrupt_token_raises_the_same_error():
    with pytest.raises(SecretDecryptionError):
        SecretCipher("k").decrypt(b"not a token")


def test_an_empty_secret_key_is_refused():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        SecretCipher("")


def test_a_previous_key_still_decrypts_and_rotation_moves_to_the_new_one():
    old_token = SecretCipher("old").encrypt("value")
    cipher = SecretCipher("new", previous_keys=["old"])

    assert cipher.decrypt(old_token) == "value"
    assert SecretCipher("new").decrypt(cipher.rotate(old_token)) == "value"


def test_the_key_does_not_show_in_repr():
    assert "super-secret" not in repr(SecretCipher("super-secret"))
