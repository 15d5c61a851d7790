"""Who may talk to the local stack: this machine, and in a browser only the pages the stack serves.

The stack has no real authentication (`/dev/token` mints a token for anyone, the @connections API
takes any POST), which is fine for a process on loopback that only the developer's own tools reach.
Two things could still reach it: other machines, if it listens on a network interface (so that
needs an explicit `--allow-remote`), and web pages from anywhere, through the developer's browser
(so requests carrying a foreign `Origin` are refused).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the stack on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    address = _ip(host)
    return address is not None and address.is_loopback


def is_wildcard(host: str) -> bool:
    """Whether `host` means every interface of the machine."""
    return host in WILDCARD_HOSTS


class RemoteBindRefused(ValueError):
    """Listening beyond loopback was asked for without `allow_remote`."""


def remote_bind_refusal(host: str) -> str:
    return (
        f"refusing to listen on {host!r}: other machines could reach the local stack, whose /dev/token "
        "mints a token for any user to anyone who asks (and whose @connections API takes any POST). "
        "Listen on 127.0.0.1 (the default), or pass --allow-remote (make dev HOST=... ALLOW_REMOTE=1) "
        "if you really mean to."
    )


def remote_bind_warning(host: str) -> str:
    return (
        f"WARNING: listening on {host!r}, reachable from other machines. Anyone who can reach the port "
        "can mint a token for any user at /dev/token, read and send their messages, and post to any "
        "socket through the @connections API. Use this only on a network you trust."
    )


@dataclass(frozen=True)
class ServedOrigins:
    """The browser origins of the pages a stack listening on `host`:`port` serves itself."""

    host: str
    port: int

    @property
    def hostnames(self) -> frozenset[str]:
        """Names and addresses a browser on this machine may use to load the stack's pages."""
        host = self.host.strip("[]").lower()
        if is_wildcard(self.host) or host == "localhost":
            return frozenset({"127.0.0.1", "localhost", "::1"})
        if host in ("127.0.0.1", "::1"):
            return frozenset({host, "localhost"})
        return frozenset({host})

    def allows(self, origin: str, host_header: str | None = None) -> bool:
        """Whether a request with this `Origin` header comes from one of the stack's own pages.

        `host_header` is the request's `Host`: listening on every interface, a page may have been
        loaded from any address of the machine (e.g. its LAN address); an origin that is such an
        address, and is where this very request was sent, is the stack's own. Only IP addresses count
        there: a name could be pointed at this machine by anyone's DNS (DNS rebinding).
        """
        parsed = _origin(origin)
        if parsed is None:
            return False
        hostname, port = parsed
        if port != self.port:
            return False
        if hostname in self.hostnames:
            return True
        return is_wildcard(self.host) and _ip(hostname) is not None and _authority(host_header) == parsed


def url_host(host: str) -> str:
    """`host` as written in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _origin(origin: str) -> tuple[str, int] | None:
    """(hostname, port) of an `http://host[:port]` origin; None for anything else (`null`, https, paths)."""
    try:
        url = urlsplit(origin.strip())
        if url.scheme != "http" or not url.hostname or url.path or url.query or url.fragment or url.username:
            return None
        return url.hostname.lower(), url.port or 80
    except ValueError:
        return None


def _authority(host_header: str | None) -> tuple[str, int] | None:
    if not host_header:
        return None
    return _origin(f"http://{host_header}")
