"""The address policy and URL validation, judged as pure predicates (no traffic at all)."""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network

import pytest

from service.errors import BlockedAddressError, SchemeError
from service.sources.addresses import AddressPolicy, address_class, embedded_ipv4, validate_feed_url

NO_ALLOW_LIST = AddressPolicy()
TEST_ALLOW_LIST = AddressPolicy(allow=(ip_network("127.0.0.1/32"),))

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("0.1.2.3", "private"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.10", "documentation"),
    ("203.0.113.10", "documentation"),
    ("2001:db8::1", "documentation"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::1", "loopback"),
    ("2002:a9fe:a9fe::", "link-local"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("::7f00:1", "reserved"),
    ("2001::1", "private"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::1",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize(("address", "expected_class"), REFUSED)
def test_non_public_addresses_are_refused_and_named(address: str, expected_class: str) -> None:
    ip = ip_address(address)
    assert address_class(ip) == expected_class
    assert not NO_ALLOW_LIST.is_allowed(ip)
    with pytest.raises(BlockedAddressError, match=re.escape(expected_class)) as caught:
        NO_ALLOW_LIST.check(ip, host="feeds.example")
    assert "feeds.example" in str(caught.value)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed_by_the_predicate(address: str) -> None:
    ip = ip_address(address)
    assert address_class(ip) is None
    assert NO_ALLOW_LIST.is_allowed(ip)
    NO_ALLOW_LIST.check(ip, host="example.org")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),  # judged by the IPv4 address it carries
        ("127.0.0.2", False),
        ("::1", False),
        ("10.0.0.1", False),
        ("8.8.8.8", True),
    ],
)
def test_allow_list_admits_exactly_its_networks(address: str, allowed: bool) -> None:
    assert TEST_ALLOW_LIST.is_allowed(ip_address(address)) is allowed


def test_allow_list_of_a_private_range() -> None:
    policy = AddressPolicy(allow=(ip_network("10.20.0.0/16"), ip_network("fd00::/8")))
    assert policy.is_allowed(ip_address("10.20.3.4"))
    assert policy.is_allowed(ip_address("fd00::5"))
    assert not policy.is_allowed(ip_address("10.21.0.1"))


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("2002:102:304::", "1.2.3.4"),
        ("64:ff9b::102:304", "1.2.3.4"),
        ("2606:4700::1", None),
        ("1.2.3.4", None),
    ],
)
def test_embedded_ipv4(address: str, carried: str | None) -> None:
    expected = ip_address(carried) if carried else None
    assert embedded_ipv4(ip_address(address)) == expected


def test_blocked_message_does_not_contain_the_url_query() -> None:
    with pytest.raises(BlockedAddressError) as caught:
        NO_ALLOW_LIST.check(ip_address("10.0.0.1"), host="intranet.local")
    assert "token" not in str(caught.value)
    assert "intranet.local" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/feed.xml",
        "https://example.org:8443/rss?x=1",
        "HTTPS://Example.org/",
        "http://[::1]:8080/",
    ],
)
def test_valid_feed_urls_are_returned_unchanged(url: str) -> None:
    assert validate_feed_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/hosts", "scheme"),
        ("ftp://example.org/feed", "scheme"),
        ("gopher://example.org/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("example.org/feed", "scheme"),
        ("http:///feed.xml", "no host"),
        ("http://exa mple.org/", "whitespace"),
        ("http://example.org/\nHost: evil", "whitespace"),
        ("http://example.org/\x00", "control"),
        ("http://example.org:99999/", "malformed"),
        ("http://[::1/", "malformed"),
    ],
)
def test_invalid_feed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(SchemeError, match=message):
        validate_feed_url(url)


def test_a_refused_loopback_feed_says_which_setting_allows_it() -> None:
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1 is loopback.*RIVALWATCH_FETCH_ALLOW_CIDRS"):
        NO_ALLOW_LIST.check(ip_address("127.0.0.1"), host="localhost")
