"""Which hosts keep the local stack on this machine, and which browser origins are its own pages."""

from __future__ import annotations

import pytest

from local.origins import ServedOrigins, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.20", False),
        ("10.0.0.5", False),
        ("my-laptop.local", False),  # a name may resolve anywhere
    ],
)
def test_only_loopback_addresses_keep_the_stack_on_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://LocalHost:8080", True),
        ("http://127.0.0.1:8081", False),  # another local server
        ("http://localhost:3000", False),
        ("https://127.0.0.1:8080", False),  # the stack serves plain HTTP only
        ("http://[::1]:8080", False),  # not where a stack on 127.0.0.1 listens
        ("http://127.0.0.2:8080", False),
        ("http://evil.example:8080", False),
        ("https://evil.example", False),
        ("null", False),  # sandboxed frames, file:// pages
        ("", False),
        ("http://127.0.0.1:8080/path", False),
        ("http://user@127.0.0.1:8080", False),
        ("http://127.0.0.1:99999", False),
    ],
)
def test_a_stack_on_loopback_owns_its_127_0_0_1_and_localhost_origins(origin: str, allowed: bool) -> None:
    assert ServedOrigins("127.0.0.1", 8080).allows(origin, host_header="127.0.0.1:8080") is allowed


def test_port_80_origins_carry_no_port() -> None:
    served = ServedOrigins("127.0.0.1", 80)
    assert served.allows("http://localhost") and served.allows("http://127.0.0.1:80")
    assert not served.allows("http://localhost:8080")


def test_a_stack_on_a_lan_address_owns_only_that_address() -> None:
    served = ServedOrigins("192.168.1.20", 8080)
    assert served.allows("http://192.168.1.20:8080")
    assert not served.allows("http://127.0.0.1:8080")  # not listening there
    assert not served.allows("http://localhost:8080")
    assert not served.allows("http://192.168.1.21:8080", host_header="192.168.1.21:8080")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_a_stack_on_every_interface_owns_loopback_and_the_address_it_was_reached_at(host: str) -> None:
    served = ServedOrigins(host, 8080)
    for origin in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        assert served.allows(origin)
    # A page loaded from the machine's LAN address, sending this request to that same address.
    assert served.allows("http://192.168.1.20:8080", host_header="192.168.1.20:8080")
    assert served.allows("http://[fe80::1]:8080", host_header="[fe80::1]:8080")
    # Another address than the request went to, or no Host to compare with.
    assert not served.allows("http://192.168.1.20:8080", host_header="192.168.1.21:8080")
    assert not served.allows("http://192.168.1.20:8080")
    assert not served.allows("http://192.168.1.20:9090", host_header="192.168.1.20:9090")
    # A name pointed at this machine by someone's DNS (rebinding) is never the stack's own origin.
    assert not served.allows("http://evil.example:8080", host_header="evil.example:8080")
