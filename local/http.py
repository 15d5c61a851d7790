"""Plain HTTP on the gateway's port: request heads, responses, and routing each TCP connection.

How HTTP and WebSocket share one port
-------------------------------------
The listener is a `websockets` asyncio server (`websockets.asyncio.server.serve`). Its
`create_connection` hook - the documented escape hatch for customizing connections - is given a
`SharedPortConnection`, a `ServerConnection` subclass that looks at the head of each new TCP
connection before websockets does:

- a `GET` with `Upgrade: websocket` is passed through untouched, and websockets performs the
  handshake (`local/gateway.py` plays API Gateway's part in it);
- anything else (the @connections management API with its POST and DELETE bodies, `/dev/token`,
  `/health`, the web client's static files) never reaches websockets' parser, which only accepts
  GET. It is answered with one HTTP/1.1 response and `Connection: close`, by the handler the
  subclass names (`answering`).

So one port serves both, with no dependency beyond `websockets` and no extra listener.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection

log = logging.getLogger("local.gateway")

MAX_HEAD_BYTES = 64 * 1024
MAX_HTTP_BODY_BYTES = 1024 * 1024


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    content_length: int = 0
    body: bytearray = field(default_factory=bytearray)
    dispatched: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query, keep_blank_values=True).items()}

    def is_websocket_upgrade(self) -> bool:
        connection = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        upgrade = self.headers.get("upgrade", "").lower() == "websocket"
        return self.method == "GET" and upgrade and "upgrade" in connection


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> HttpResponse:
        return cls(status, json.dumps(payload).encode(), headers=dict(headers))

    def encode(self, head_only: bool = False) -> bytes:
        reason = http.HTTPStatus(self.status).phrase
        lines = [f"HTTP/1.1 {self.status} {reason}", f"Date: {email.utils.formatdate(usegmt=True)}"]
        if self.status != 204:
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only or self.status == 204 else head + self.body


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def parse_head(raw: bytes) -> HttpRequest:
    lines = raw.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError("not HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or "0")
    if length < 0:
        raise ValueError("negative Content-Length")
    return HttpRequest(method=method.upper(), target=target, headers=headers, content_length=length)


class SharedPortConnection(ServerConnection):
    """Routes each new TCP connection: WebSocket upgrades to websockets, plain HTTP to `answer_http`."""

    answer_http: HttpHandler  # set on the subclass made by `answering`

    @classmethod
    def answering(cls, handler: HttpHandler) -> type[SharedPortConnection]:
        """The connection class to give websockets' `create_connection`, answering plain HTTP with `handler`."""
        return type(f"{cls.__name__}Answering", (cls,), {"answer_http": staticmethod(handler)})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()
        self._mode: str | None = None  # None until the request head is in, then "ws" or "http"
        self._http: HttpRequest | None = None
        self._answering: asyncio.Task[None] | None = None

    def data_received(self, data: bytes) -> None:
        if self._mode == "ws":
            super().data_received(data)
            return
        if self._mode == "http":
            self._feed_http(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD_BYTES:
                self._reply(HttpResponse.json(431, {"message": "Request header too large"}))
            return
        try:
            request = parse_head(bytes(self._head[:end]))
        except ValueError:
            self._reply(HttpResponse.json(400, {"message": "Bad Request"}))
            return
        if request.is_websocket_upgrade():
            self._mode = "ws"
            head, self._head = bytes(self._head), bytearray()
            super().data_received(head)
            return
        self._mode = "http"
        rest, self._head = bytes(self._head[end + 4 :]), bytearray()
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            self._reply(HttpResponse.json(411, {"message": "Length Required"}))
            return
        if request.content_length > MAX_HTTP_BODY_BYTES:
            self._reply(HttpResponse.json(413, {"message": "Request too large"}))
            return
        self._http = request
        if request.headers.get("expect", "").lower() == "100-continue" and len(rest) < request.content_length:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it on larger bodies
        self._feed_http(rest)

    def _feed_http(self, data: bytes) -> None:
        request = self._http
        if request is None or request.dispatched:
            return
        request.body += data
        if len(request.body) >= request.content_length:
            request.dispatched = True
            del request.body[request.content_length :]
            self._answering = self.loop.create_task(self._answer(request))  # held: tasks are weakly referenced

    async def _answer(self, request: HttpRequest) -> None:
        try:
            response = await self.answer_http(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.target)
            response = HttpResponse.json(500, {"message": "Internal server error"})
        self._reply(response, head_only=request.method == "HEAD")

    def _reply(self, response: HttpResponse, head_only: bool = False) -> None:
        self._mode = self._mode or "http"
        if not self.transport.is_closing():
            self.transport.write(response.encode(head_only))
            self.transport.close()

    def eof_received(self) -> None:
        if self._mode == "ws":
            super().eof_received()
            return None
        # A plain HTTP client may half-close after its request: keep the transport to answer.
        return True  # type: ignore[return-value]  # asyncio.Protocol.eof_received may return True
