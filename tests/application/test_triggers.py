"""The pure parts of webhook triggers: signatures, token buckets, reading a request."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from application.triggers.rate_limits import TokenBuckets, TooManyRequests
from application.triggers.requests import (
    InvalidBody,
    idempotency_key,
    parse_body,
)
from application.triggers.signatures import InvalidSignature, SignatureExpired, verify


def mac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def stripe(value: str, body: bytes = b"{}", now: float = 1000) -> None:
    verify("stripe", secret="whsec_k", headers={"stripe-signature": value}, body=body, now=now)


def test_a_stripe_header_may_carry_several_v1_signatures_and_other_schemes() -> None:
    good = mac("whsec_k", b"1000.{}")
    stripe(f"t=1000,v1={'0' * 64},v1={good},v0=ignored")
    stripe(f" t=1000 , v1={good.upper()}")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "v1=abc",
        "t=1000",
        "t=,v1=abc",
        "t=abc,v1=abc",
        "t=1000,t=1000,v1=abc",
        "t=\u0661\u0660,v1=abc",  # digits, but not ASCII ones
    ],
)
def test_a_malformed_stripe_header_is_an_invalid_signature(value: str) -> None:
    with pytest.raises(InvalidSignature):
        stripe(value)


def test_a_stripe_timestamp_is_judged_only_once_the_signature_matches() -> None:
    old = f"t=600,v1={mac('whsec_k', b'600.{}')}"
    with pytest.raises(SignatureExpired):
        stripe(old)
    with pytest.raises(InvalidSignature):
        stripe("t=600,v1=" + "0" * 64)
    verify(
        "stripe",
        secret="whsec_k",
        headers={"stripe-signature": old},
        body=b"{}",
        now=1000,
        tolerance_seconds=400,
    )


def test_a_github_signature_needs_its_prefix_and_the_exact_body() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    headers = {"x-hub-signature-256": "sha256=" + mac("s", body)}
    verify("github", secret="s", headers=headers, body=body, now=0)
    for wrong in ({"x-hub-signature-256": mac("s", body)}, {}, {"x-hub-signature-256": "sha1=ab"}):
        with pytest.raises(InvalidSignature):
            verify("github", secret="s", headers=wrong, body=body, now=0)
    with pytest.raises(InvalidSignature):
        verify("github", secret="s", headers=headers, body=body + b"\n", now=0)


def test_a_verifying_trigger_without_a_secret_refuses_everything() -> None:
    with pytest.raises(InvalidSignature):
        verify("header_secret", secret=None, headers={"x": ""}, body=b"", now=0, header="x")


def test_token_buckets_hold_one_second_and_refill_at_the_rate() -> None:
    buckets = TokenBuckets()
    for _ in range(3):
        buckets.take("a", 3, now=10.0)
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("a", 3, now=10.0)
    assert refused.value.retry_after == 1
    buckets.take("b", 3, now=10.0)  # another trigger has its own bucket
    buckets.take("a", 3, now=10.34)
    slow = TokenBuckets()
    slow.take("s", 0.1, now=0.0)
    with pytest.raises(TooManyRequests) as later:
        slow.take("s", 0.1, now=1.0)
    assert later.value.retry_after == 9


def test_token_buckets_forget_the_least_recently_used() -> None:
    buckets = TokenBuckets(max_buckets=2)
    buckets.take("a", 1, now=0.0)
    buckets.take("b", 1, now=0.0)
    with pytest.raises(TooManyRequests):
        buckets.take("a", 1, now=0.0)  # a is used again: b is now the least recent
    buckets.take("c", 1, now=0.0)  # one bucket too many: b is forgotten, not a
    with pytest.raises(TooManyRequests):
        buckets.take("a", 1, now=0.0)  # still remembered, still empty
    buckets.take("b", 1, now=0.0)  # forgotten, so full again


def test_bodies_are_read_by_content_type() -> None:
    assert parse_body(b"", "application/json") is None
    assert parse_body(b'{"a": 1}', "application/vnd.github+json; charset=utf-8") == {"a": 1}
    assert parse_body(b"a=1&a=2&b=", "application/x-www-form-urlencoded") == {
        "a": ["1", "2"],
        "b": "",
    }
    assert parse_body(b'{"a": 1}', "") == {"a": 1}
    assert parse_body(b"not json", "") == "not json"
    with pytest.raises(InvalidBody):
        parse_body(b"\xff", "application/x-www-form-urlencoded")
    with pytest.raises(InvalidBody):
        parse_body(
            b"&".join(b"f%d=1" % i for i in range(1001)), "application/x-www-form-urlencoded"
        )


def test_a_long_delivery_id_is_hashed_into_the_key() -> None:
    assert idempotency_key("trg_1", "d-1") == "trigger:trg_1:d-1"
    long_key = idempotency_key("trg_1", "x" * 500)
    assert len(long_key) < 100 and long_key.startswith("trigger:trg_1:sha256:")
