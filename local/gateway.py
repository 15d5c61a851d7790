"""A local stand-in for an API Gateway WebSocket API, plus the local stack's small HTTP endpoints.

How HTTP and WebSocket share one port
-------------------------------------
The listener is a `websockets` asyncio server (`websockets.asyncio.server.serve`). Its
`create_connection` hook - the documented escape hatch for customizing connections - is given
`_SharedPortConnection`, a `ServerConnection` subclass that looks at the head of each new TCP
connection before websockets does:

- a `GET` with `Upgrade: websocket` is passed through untouched, and websockets performs the
  handshake; `process_request` plays API Gateway's part (authorizer, then `$connect`) and refuses
  the handshake with 401/403 when they do;
- anything else (the @connections management API with its POST and DELETE bodies, `/dev/token`,
  `/health`, the web client's static files) never reaches websockets' parser, which only accepts
  GET. The gateway answers it itself with one HTTP/1.1 response and `Connection: close`.

So one port serves both, with no dependency beyond `websockets` and no extra listener.

Unlike API Gateway, the gateway answers only its own web client in a browser: a handshake or a
request to its endpoints (`/dev/*`, `/health`, `@connections`) sent by a page of another origin is
refused with 403 (`local/origins.py` says which origins are its own). Clients that are not
browsers send no `Origin` and are let through.

Like API Gateway, every frame is handled by a fresh, independent invocation: the synchronous
handlers run in a thread pool, so the event loop keeps serving sockets and the management API
(which those very handlers call back into while a frame is being handled).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import email.utils
import fnmatch
import http
import json
import logging
import mimetypes
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chat.auth.tokens import MAX_USER_ID_LENGTH, is_valid_user_id
from chat.topology import AUTHORIZER, AUTHORIZER_IDENTITY_SOURCES, ROUTES, SIGNUP, route_for
from local.events import (
    ApiInfo,
    ConnectionInfo,
    authorizer_event,
    connect_event,
    disconnect_event,
    iso,
    message_event,
    new_id,
    now_ms,
    post_confirmation_event,
)
from local.lambdas import FunctionError
from local.origins import ServedOrigins

log = logging.getLogger("local.gateway")

Invoke = Callable[[str, dict[str, Any]], Any]
TokenIssuer = Callable[[str, int | None], str]

MAX_HEAD_BYTES = 64 * 1024
MAX_HTTP_BODY_BYTES = 1024 * 1024
# PostToConnection's limit (the `Data` blob's max in the API model).
MAX_POST_BYTES = 128 * 1024
FUNCTION_FOR_ROUTE = {route.key: route.function for route in ROUTES}
GOING_AWAY = (1001, "Going away")


@dataclass
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    idle_timeout_s: float = 600.0
    max_connection_s: float = 7200.0
    max_frame_bytes: int = 32 * 1024
    # Larger frames still reach us (and get `too_large`); beyond this websockets closes with 1009.
    max_message_bytes: int = 256 * 1024
    web_dir: Path | None = None
    # Benchmarks only: each @connections POST waits this long first, like a far-away API Gateway.
    post_delay_s: float = 0.0
    # What the stack was told to do unlike a quiet AWS (slow functions, DynamoDB quirks), for /health.
    behaviours: Callable[[], list[str]] = field(default=lambda: [])
    api: ApiInfo = field(
        default_factory=lambda: ApiInfo(
            api_id="local", stage="local", domain_name="127.0.0.1", region="us-east-1", account_id="123456789012"
        )
    )


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


class _SharedPortConnection(ServerConnection):
    """Routes each new TCP connection: WebSocket upgrades to websockets, plain HTTP to the gateway."""

    gateway: Gateway  # set on the subclass made by Gateway

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()
        self._mode: str | None = None  # None until the request head is in, then "ws" or "http"
        self._http: HttpRequest | None = None
        self._answering: asyncio.Task[None] | None = None
        self.chat: _Conn | None = None

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
            response = await self.gateway.handle_http(request)
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


@dataclass
class _Conn:
    """One connection the gateway accepted."""

    info: ConnectionInfo
    ws: _SharedPortConnection
    opened: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    last_active_ms: int = field(default_factory=now_ms)
    open: bool = False
    silent: bool = False  # closed without `$disconnect` (test hook)
    closed_by_gateway: tuple[int, str] | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.info.connection_id


class Gateway:
    def __init__(self, config: GatewayConfig, invoke: Invoke, issue_token: TokenIssuer | None, workers: int = 32):
        self.config = config
        self.api = config.api
        self.invoke = invoke
        self.issue_token = issue_token
        self.ready = False
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self._connections: dict[str, _Conn] = {}
        self._connecting: set[str] = set()
        self._server: Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = config.port
        self.origins = ServedOrigins(config.host, config.port)

    # ---------------------------------------------------------------- lifecycle

    async def start(self, sock: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        connection_class = type("GatewayConnection", (_SharedPortConnection,), {"gateway": self})
        kwargs: dict[str, Any] = {"sock": sock} if sock is not None else {"host": self.config.host, "port": self.port}
        self._server = await serve(
            self._ws_handler,
            process_request=self._process_request,
            create_connection=connection_class,
            compression=None,  # API Gateway does not negotiate permessage-deflate
            max_size=self.config.max_message_bytes,
            ping_interval=None,  # API Gateway sends no pings; idle connections are closed instead
            open_timeout=30,
            server_header=None,
            **kwargs,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.origins = ServedOrigins(self.config.host, self.port)
        log.debug("gateway listening on %s:%d", self.config.host, self.port)

    async def stop(self) -> None:
        self.ready = False
        if self._server is not None:
            self._server.close(close_connections=True, code=GOING_AWAY[0], reason=GOING_AWAY[1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=15)
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _call(self, function: str, event: dict[str, Any]) -> Any:
        assert self.loop is not None
        return await self.loop.run_in_executor(self.executor, self.invoke, function, event)

    # ---------------------------------------------------------------- handshake

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path not in ("/ws", "/ws/"):
            return _reject(ws, 404, "Not Found")
        # Browsers send Origin with every WebSocket handshake, and let any page open a socket to any
        # address: only the web client this stack serves may. Without Origin it is not a browser
        # (the CLI, scripts, tests), which API Gateway would let through too.
        origins = request.headers.get_all("Origin")
        if origins and not (len(origins) == 1 and self.origins.allows(origins[0], _single(request, "Host"))):
            log.info("handshake refused: Origin %s is not this stack's web client", ", ".join(origins))
            return _reject(ws, 403, "Forbidden")
        if not self.ready:
            return _reject(ws, 503, "Service Unavailable")
        multi_query = parse_qs(url.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in multi_query.items()}
        peer = ws.remote_address
        info = ConnectionInfo(
            connection_id=new_id(),
            source_ip=str(peer[0]) if peer else "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            headers=dict(request.headers.raw_items()),
            query=query,
            multi_query=multi_query,
        )
        # API Gateway refuses without calling the authorizer when an identity source is missing.
        for source in AUTHORIZER_IDENTITY_SOURCES:
            if not query.get(source.rsplit(".", 1)[1]):
                return _reject(ws, 401, "Unauthorized")
        refused = await self._authorize(ws, info)
        if refused is not None:
            return refused
        # Until $connect returns and the handshake completes, @connections answers 410 for this id.
        self._connecting.add(info.connection_id)
        try:
            result = await self._call(FUNCTION_FOR_ROUTE["$connect"], connect_event(self.api, info))
        except FunctionError:
            return _reject(ws, 500, "Internal server error")
        finally:
            self._connecting.discard(info.connection_id)
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        if not isinstance(status, int) or not 200 <= status < 300:
            return _reject(ws, status if isinstance(status, int) and 400 <= status < 600 else 403, "Forbidden")
        assert isinstance(ws, _SharedPortConnection)
        conn = ws.chat = _Conn(info=info, ws=ws)
        self._connections[conn.id] = conn

        def forget_if_never_opened(_: object) -> None:
            # The handshake can still fail after $connect (bad Sec-WebSocket-Key, client gone).
            if not conn.open and self._connections.get(conn.id) is conn:
                del self._connections[conn.id]

        ws.connection_lost_waiter.add_done_callback(forget_if_never_opened)
        return None

    async def _authorize(self, ws: ServerConnection, info: ConnectionInfo) -> Response | None:
        event = authorizer_event(self.api, info)
        try:
            policy = await self._call(AUTHORIZER, event)
        except FunctionError as exc:
            if exc.error_message == "Unauthorized":
                return _reject(ws, 401, "Unauthorized")
            return _reject(ws, 500, "Internal server error")
        try:
            allowed = _policy_allows(policy, event["methodArn"])
            context = policy.get("context") or {}
            if not isinstance(context, dict) or not all(
                isinstance(v, str | int | float | bool) for v in context.values()
            ):
                raise ValueError("authorizer context values must be strings, numbers or booleans")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.error("authorizer returned an invalid policy (%s): %r", exc, policy)
            return _reject(ws, 500, "Internal server error")
        if not allowed:
            return _reject(ws, 403, "Forbidden")
        info.authorizer = {**context, "principalId": policy.get("principalId")}
        return None

    # ---------------------------------------------------------------- frames

    async def _ws_handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, _SharedPortConnection) and ws.chat is not None
        conn = ws.chat
        conn.open = True
        loop = asyncio.get_running_loop()
        try:
            while True:
                deadline = min(
                    conn.last_active + self.config.idle_timeout_s, conn.opened + self.config.max_connection_s
                )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    conn.closed_by_gateway = GOING_AWAY
                    await ws.close(*GOING_AWAY)
                    break
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=remaining)
                except TimeoutError:
                    continue
                conn.last_active = time.monotonic()
                conn.last_active_ms = now_ms()
                task = loop.create_task(self._handle_frame(conn, message))
                conn.tasks.add(task)
                task.add_done_callback(conn.tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            conn.open = False
            self._connections.pop(conn.id, None)
            if not conn.silent:
                code, reason = conn.closed_by_gateway or (ws.close_code or 1006, ws.close_reason or "")
                with contextlib.suppress(FunctionError):
                    await self._call(
                        FUNCTION_FOR_ROUTE["$disconnect"], disconnect_event(self.api, conn.info, code, reason)
                    )

    async def _handle_frame(self, conn: _Conn, message: str | bytes) -> None:
        is_binary = isinstance(message, bytes)
        size = len(message) if isinstance(message, bytes) else len(message.encode())
        if size > self.config.max_frame_bytes:
            await self._send(conn, json.dumps(_too_large(message, size, self.config.max_frame_bytes)))
            return
        route_key = "$default"
        if isinstance(message, bytes):
            body = base64.b64encode(message).decode()
        else:
            body = message
            with contextlib.suppress(ValueError):
                frame = json.loads(message)
                if isinstance(frame, dict) and isinstance(frame.get("action"), str):
                    route_key = route_for(frame["action"]).key
        event = message_event(self.api, conn.info, route_key, body, is_binary)
        try:
            result = await self._call(FUNCTION_FOR_ROUTE[route_key], event)
        except FunctionError:
            reply = {
                "message": "Internal server error",
                "connectionId": conn.id,
                "requestId": event["requestContext"]["requestId"],
            }
            await self._send(conn, json.dumps(reply))
            return
        if isinstance(result, dict) and result.get("body") is not None:
            reply_body = result["body"]
            await self._send(conn, reply_body if isinstance(reply_body, str) else json.dumps(reply_body))

    async def _send(self, conn: _Conn, text: str) -> bool:
        if not conn.open:
            return False
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            return False
        return True

    # ---------------------------------------------------------------- plain HTTP

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if _is_endpoint(path):
            refused = self._cross_site(request)
            if refused is not None:
                log.info("%s %s refused: %s", request.method, path, refused)
                return HttpResponse.json(403, {"message": "Forbidden: not this stack's own page"})
        if "/@connections/" in path:
            return await self._management(request)
        if path == "/health":
            if self.ready:
                return HttpResponse.json(200, {"status": "ok", "behaviours": self.config.behaviours()})
            return HttpResponse.json(503, {"status": "starting"})
        if path == "/dev/token" and request.method == "GET":
            return await self._token(request)
        if path == "/dev/connections" and request.method == "GET":
            return HttpResponse.json(200, {"connections": self.connections()})
        if path.startswith("/dev/connections/") and path.endswith("/drop") and request.method == "POST":
            connection_id = unquote(path[len("/dev/connections/") : -len("/drop")])
            found = await self.drop_silently(connection_id)
            return HttpResponse(204) if found else HttpResponse.json(404, {"message": "No such connection"})
        if path in ("/ws", "/ws/"):
            return HttpResponse.json(426, {"message": "Upgrade Required"}, Upgrade="websocket")
        if request.method in ("GET", "HEAD"):
            return self._static(path)
        return HttpResponse.json(405, {"message": "Method Not Allowed"})

    def _cross_site(self, request: HttpRequest) -> str | None:
        """Why a request to an endpoint must be refused as coming from another site's page, or None.

        The endpoints have no authentication: no CORS header lets another page read an answer, and a
        browser request from elsewhere is refused outright, so it cannot act either (sign someone up,
        post to a socket, drop a connection). Requests without these headers are not from a browser.
        """
        origin = request.headers.get("origin")
        if origin is not None and not self.origins.allows(origin, request.headers.get("host")):
            return f"Origin {origin}"
        # Sent by browsers even where Origin is not (a cross-site GET); "none" is the address bar.
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"Sec-Fetch-Site {site}"
        return None

    async def _token(self, request: HttpRequest) -> HttpResponse:
        if self.issue_token is None:
            return HttpResponse.json(404, {"message": "No token issuer"})
        user_id = request.query.get("userId", "")
        if not is_valid_user_id(user_id):
            return HttpResponse.json(400, {"message": f"userId is required (1-{MAX_USER_ID_LENGTH} characters)"})
        ttl = request.query.get("ttlS")
        try:
            ttl_s = int(ttl) if ttl else None
        except ValueError:
            return HttpResponse.json(400, {"message": "ttlS must be an integer"})
        try:
            token = await self.sign_in(user_id, ttl_s)
        except FunctionError:
            return HttpResponse.json(500, {"message": "Sign-up failed"})
        return HttpResponse.json(200, {"token": token})

    async def sign_in(self, user_id: str, ttl_s: int | None = None) -> str:
        """What signing in is locally: the account is confirmed, then a token is issued.

        Confirming runs the signup function with the event Cognito's post-confirmation trigger
        sends, through the same invocation path as every other function (in the thread pool, not
        on this event loop); so the user exists before anyone can write to them, as in AWS.
        """
        assert self.issue_token is not None
        event = post_confirmation_event(self.api, user_id)
        result = await self._call(SIGNUP, event)
        if result != event:
            # Cognito fails the confirmation when a trigger does not hand its event back.
            log.error("signup returned %r instead of its event", result)
            raise FunctionError("signup: the trigger did not return its event")
        return self.issue_token(user_id, ttl_s)

    async def _management(self, request: HttpRequest) -> HttpResponse:
        raw = request.path.split("/@connections/", 1)[1]
        if not raw or "/" in raw:
            return HttpResponse.json(404, {"message": "Not Found"})
        connection_id = unquote(raw)
        conn = self._connections.get(connection_id)
        if conn is None or not conn.open:
            if connection_id in self._connecting or conn is not None:
                log.info("@connections %s %s: 410, its $connect has not completed", request.method, connection_id)
            return HttpResponse.json(410, {"message": "Connection is gone"}, **{"x-amzn-ErrorType": "GoneException"})
        if request.method == "POST":
            if len(request.body) > MAX_POST_BYTES:
                return HttpResponse.json(
                    413, {"message": "Message too long"}, **{"x-amzn-ErrorType": "PayloadTooLargeException"}
                )
            if self.config.post_delay_s:
                await asyncio.sleep(self.config.post_delay_s)
            data = bytes(request.body)
            try:
                text: str | bytes = data.decode()
            except UnicodeDecodeError:
                text = data
            try:
                await conn.ws.send(text)
            except ConnectionClosed:
                return HttpResponse.json(
                    410, {"message": "Connection is gone"}, **{"x-amzn-ErrorType": "GoneException"}
                )
            return HttpResponse(200, b"{}")
        if request.method == "GET":
            return HttpResponse.json(
                200,
                {
                    "connectedAt": iso(conn.info.connected_at),
                    "lastActiveAt": iso(conn.last_active_ms),
                    "identity": {"sourceIp": conn.info.source_ip, "userAgent": conn.info.user_agent},
                },
            )
        if request.method == "DELETE":
            assert self.loop is not None
            closing = self.loop.create_task(conn.ws.close(1000, ""))
            conn.tasks.add(closing)
            closing.add_done_callback(conn.tasks.discard)
            return HttpResponse(204)
        return HttpResponse.json(405, {"message": "Method Not Allowed"})

    def _static(self, path: str) -> HttpResponse:
        web = self.config.web_dir
        not_found = HttpResponse(404, b"Not Found\n", "text/plain; charset=utf-8")
        if web is None or not web.is_dir():
            return not_found
        relative = unquote(path).lstrip("/")
        if "\x00" in relative:
            return not_found
        root = web.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            return not_found
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return not_found
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        return HttpResponse(200, target.read_bytes(), content_type, {"Cache-Control": "no-cache"})

    # ---------------------------------------------------------------- test hooks and introspection

    def connections(self) -> list[dict[str, Any]]:
        return [
            {
                "connectionId": c.id,
                "userId": c.info.authorizer.get("userId"),
                "deviceId": c.info.authorizer.get("deviceId"),
                "connectedAt": iso(c.info.connected_at),
            }
            for c in list(self._connections.values())
            if c.open
        ]

    async def drop_silently(self, connection_id: str) -> bool:
        """Closes a socket without running `$disconnect`, as when API Gateway's disconnect event is lost."""
        conn = self._connections.pop(connection_id, None)
        if conn is None:
            return False
        conn.silent = True
        conn.open = False
        conn.ws.transport.abort()
        return True

    def run_threadsafe(self, coroutine: Awaitable[Any]) -> Any:
        assert self.loop is not None

        async def wrapper() -> Any:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout=30)


def _is_endpoint(path: str) -> bool:
    """The stack's own HTTP endpoints, as opposed to the web client's static files (which any page
    may link to)."""
    return path == "/health" or path.startswith("/dev/") or "/@connections/" in path


def _single(request: Request, name: str) -> str | None:
    values = request.headers.get_all(name)
    return values[0] if len(values) == 1 else None


def _reject(ws: ServerConnection, status: int, message: str) -> Response:
    response = ws.respond(status, json.dumps({"message": message}))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def _too_large(message: str | bytes, size: int, limit: int) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": "error",
        "code": "too_large",
        "message": f"frame of {size} bytes is over the {limit // 1024} KB limit",
    }
    with contextlib.suppress(ValueError, TypeError):
        frame = json.loads(message)
        if isinstance(frame, dict):
            for key in ("action", "requestId", "clientMsgId"):
                if isinstance(frame.get(key), str):
                    error[key] = frame[key]
    return error


def _policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM evaluation of an authorizer policy for one method ARN: an explicit Deny wins."""
    allowed = False
    for statement in policy["policyDocument"]["Statement"]:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
