"""The client's socket: a token, the handshake, and reconnecting with backoff when it drops."""

from __future__ import annotations

import asyncio
import json
import random
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException


class Refused(Exception):
    """The server refused the handshake (bad token or device id)."""


class Unreachable(Exception):
    """No server answered at the URL."""


def http_base(ws_url: str) -> str:
    parts = urllib.parse.urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def local_token(ws_url: str, user: str) -> str:
    """A token from the local stack's /dev/token (there is none in AWS: pass --token there)."""
    url = f"{http_base(ws_url)}/dev/token?{urllib.parse.urlencode({'userId': user})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(json.loads(response.read())["token"])
    except urllib.error.HTTPError as exc:
        raise Refused(f"{url} answered {exc.code}: only the local stack issues tokens; pass --token") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"cannot reach {http_base(ws_url)} ({exc}); is `make dev` running?") from None


class Connector:
    """Opens the socket for one user's device: with the token given, or else one from the local stack."""

    def __init__(self, url: str, user: str, device_id: str, token: str | None) -> None:
        self.url = url
        self.user = user
        self.device_id = device_id
        self.token_given = bool(token)
        self.token = token

    async def open(self) -> ClientConnection:
        if self.token is None:
            self.token = await asyncio.to_thread(local_token, self.url, self.user)
        query = urllib.parse.urlencode({"token": self.token, "deviceId": self.device_id})
        separator = "&" if "?" in self.url else "?"
        try:
            return await connect(f"{self.url}{separator}{query}", open_timeout=15, max_size=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            why = {
                401: "bad or expired token, or bad device id",
                403: "not allowed",
                429: "this user has too many connections open; close one",
            }.get(status, "refused")
            raise Refused(f"the server refused the connection: HTTP {status} ({why})") from None
        except InvalidURI as exc:
            raise Refused(f"bad URL: {exc}") from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise Unreachable(f"cannot connect to {self.url}: {exc}") from None


Session = Callable[[ClientConnection], Awaitable[str]]


async def keep_connected(connector: Connector, session: Session, note: Callable[[str], None]) -> int:
    """Runs `session` on each new socket until it ends other than "dropped"; reconnects with backoff.

    The first connection must succeed (its error is raised). Later, an unreachable server is tried
    again and again, and a refused handshake once more with a fresh local token (it may have expired).
    """
    connected_before = False
    retried_token = False
    backoff = 0.5
    while True:
        try:
            ws = await connector.open()
        except Refused:
            if connector.token_given or retried_token or not connected_before:
                raise
            retried_token, connector.token = True, None  # a fresh local token, once
            continue
        except Unreachable as exc:
            if not connected_before:
                raise
            note(f"{exc}; retrying in {backoff:.0f} s")
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 30)
            continue
        connected_before, retried_token, backoff = True, False, 0.5
        outcome = await session(ws)
        if outcome != "dropped":
            return 0
        note(f"connection lost; reconnecting in {backoff:.0f} s")
        await asyncio.sleep(backoff * (0.5 + random.random()))
        backoff = min(backoff * 2, 30)
