"""The SSRF guard's decisions: which addresses are refused, and what the allowlist allows."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from adapters.nodes.network_guard import (
    AddressNotAllowed,
    Allowlist,
    NetworkGuard,
    refusal_reason,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.5.5.5", "loopback address"),
        ("::1", "loopback address"),
        ("10.0.0.1", "private address"),
        ("172.16.3.4", "private address"),
        ("192.168.1.1", "private address"),
        ("fd12:3456::1", "private address"),
        ("169.254.169.254", "cloud metadata address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("169.254.10.10", "link-local address"),
        ("fe80::1", "link-local address"),
        ("224.0.0.1", "multicast address"),
        ("ff02::1", "multicast address"),
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("240.0.0.1", "reserved address"),
        ("100.64.0.1", "non-public address"),
        ("::ffff:10.0.0.1", "private address"),
        ("::ffff:169.254.169.254", "cloud metadata address"),
        ("2002:7f00:1::1", "loopback address"),
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address, reason):
    assert refusal_reason(ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert refusal_reason(ip_address(address)) is None


def test_the_refusal_names_the_address_the_reason_and_the_setting():
    error = NetworkGuard().refusal("10.0.0.1", [ip_address("10.0.0.1")])

    assert error is not None
    assert (error.kind, error.retryable) == ("address_not_allowed", False)
    assert error.message == (
        "The network guard refuses 10.0.0.1: private address; "
        "add the host to TREADLE_HTTP_ALLOWED_HOSTS to allow it."
    )


def test_one_bad_address_among_good_ones_is_enough_to_refuse():
    addresses = [ip_address("8.8.8.8"), ip_address("127.0.0.1")]
    error = NetworkGuard().refusal("rebinding.example", addresses)

    assert error is not None
    assert "127.0.0.1 (resolved from rebinding.example)" in error.message


def test_allowlisted_names_cidrs_and_wildcards():
    guard = NetworkGuard(["Internal.Example.", "10.1.0.0/16", "*.corp.example", "[::1]"])

    assert guard.refusal("internal.example", [ip_address("10.9.9.9")]) is None
    assert guard.refusal("anything.example", [ip_address("10.1.2.3")]) is None
    assert guard.refusal("api.corp.example", [ip_address("192.168.0.1")]) is None
    assert guard.refusal("::1", [ip_address("::1")]) is None
    assert guard.refusal("anything.example", [ip_address("10.2.0.1")]) is not None
    assert guard.refusal("corp.example", [ip_address("192.168.0.1")]) is not None


def test_the_setting_is_a_comma_separated_list():
    guard = NetworkGuard.from_setting(" localhost, 10.0.0.0/8 ,,*.svc.local ")
    loopback = [ip_address("127.0.0.1")]

    assert guard.refusal("localhost", loopback) is None
    assert guard.refusal("db.svc.local", loopback) is None
    assert guard.refusal("x.example", [ip_address("10.3.2.1")]) is None
    assert guard.refusal("x.example", loopback) is not None
    assert NetworkGuard.from_setting(None).refusal("localhost", loopback) is not None


def test_blank_allowlist_entries_are_ignored():
    assert Allowlist.parse(["", "  "]) == Allowlist()


async def test_resolving_localhost_is_refused():
    with pytest.raises(AddressNotAllowed) as refused:
        await NetworkGuard().resolve("localhost", 80)

    assert refused.value.error.details is not None
    assert refused.value.error.details["reason"] == "loopback address"


async def test_resolving_an_allowlisted_literal_returns_it():
    assert await NetworkGuard(["127.0.0.1"]).resolve("127.0.0.1", 80) == ["127.0.0.1"]


async def test_check_answers_without_connecting():
    guard = NetworkGuard()

    assert await guard.check("8.8.8.8") is None
    refused = await guard.check("[::1]")
    assert refused is not None and refused.details is not None
    assert refused.details["address"] == "::1"
