"""A local stand-in for an API Gateway WebSocket API: handshake, authorizer, routes, frames, time limits.

The gateway listens on one port for everything (`local/http.py` says how HTTP and WebSocket share
it). A WebSocket handshake to `/ws` is played as API Gateway plays it: the authorizer, then
`$connect`, either of which can refuse it with 401/403. Plain HTTP goes to the @connections
management API (`local/management.py`) or to the stack's own endpoints and the web client's files
(`local/dev_endpoints.py`).

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
import fnmatch
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chat import faults
from chat.topology import AUTHORIZER, AUTHORIZER_IDENTITY_SOURCES, ROUTES
from local import costs
from local.dev_endpoints import DevEndpoints, TokenIssuer, is_dev_path
from local.events import (
    LOCAL_API,
    ApiInfo,
    ConnectionInfo,
    authorizer_event,
    connect_event,
    connection_from_handshake,
    disconnect_event,
    iso,
    message_event,
    now_ms,
    select_route,
)
from local.http import HttpRequest, HttpResponse, SharedPortConnection
from local.lambdas import FunctionError
from local.management import ManagementApi, is_management_path
from local.origins import ServedOrigins

log = logging.getLogger("local.gateway")

Invoke = Callable[[str, dict[str, Any]], Any]

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
    api: ApiInfo = LOCAL_API


class _Socket(SharedPortConnection):
    """A TCP connection to the gateway; once its handshake is accepted, `chat` is the connection it is."""

    chat: Connection | None = None


@dataclass
class Connection:
    """One connection the gateway accepted."""

    info: ConnectionInfo
    ws: _Socket
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

    def close_soon(self, code: int, reason: str) -> None:
        """Starts closing the socket (its `$disconnect` follows), without waiting for it."""
        closing = asyncio.get_running_loop().create_task(self.ws.close(code, reason))
        self.tasks.add(closing)
        closing.add_done_callback(self.tasks.discard)


class Gateway:
    def __init__(self, config: GatewayConfig, invoke: Invoke, issue_token: TokenIssuer | None, workers: int = 32):
        self.config = config
        self.api = config.api
        self.invoke = invoke
        self.ready = False
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self.management = ManagementApi(self, config.post_delay_s)
        self.dev = DevEndpoints(self, issue_token, config.web_dir, config.behaviours)
        self._connections: dict[str, Connection] = {}
        self._connecting: set[str] = set()
        self._server: Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = config.port
        self.origins = ServedOrigins(config.host, config.port)

    # ---------------------------------------------------------------- lifecycle

    async def start(self, sock: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        kwargs: dict[str, Any] = {"sock": sock} if sock is not None else {"host": self.config.host, "port": self.port}
        self._server = await serve(
            self._ws_handler,
            process_request=self._process_request,
            create_connection=_Socket.answering(self.handle_http),
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

    async def call(self, function: str, event: dict[str, Any]) -> Any:
        """One invocation of a function, in the thread pool (never on the event loop)."""
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
        peer = ws.remote_address
        info = connection_from_handshake(
            url.query,
            source_ip=str(peer[0]) if peer else "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            headers=dict(request.headers.raw_items()),
        )
        # API Gateway refuses without calling the authorizer when an identity source is missing.
        for source in AUTHORIZER_IDENTITY_SOURCES:
            if not info.query.get(source.rsplit(".", 1)[1]):
                return _reject(ws, 401, "Unauthorized")
        refused = await self._authorize(ws, info)
        if refused is not None:
            return refused
        # Until $connect returns and the handshake completes, @connections answers 410 for this id.
        self._connecting.add(info.connection_id)
        try:
            result = await self.call(FUNCTION_FOR_ROUTE["$connect"], connect_event(self.api, info))
        except FunctionError:
            return _reject(ws, 500, "Internal server error")
        finally:
            self._connecting.discard(info.connection_id)
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        if not isinstance(status, int) or not 200 <= status < 300:
            return _reject(ws, status if isinstance(status, int) and 400 <= status < 600 else 403, "Forbidden")
        assert isinstance(ws, _Socket)
        meter = costs.active()
        if meter is not None:
            meter.connection_event("$connect")
        conn = ws.chat = Connection(info=info, ws=ws)
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
            policy = await self.call(AUTHORIZER, event)
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
        assert isinstance(ws, _Socket) and ws.chat is not None
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
            if not conn.silent and faults.fires("disconnect.drop"):
                log.info("%s closed; its $disconnect is dropped (fault disconnect.drop)", conn.id)
                conn.silent = True
            if not conn.silent:
                meter = costs.active()
                if meter is not None:
                    meter.connection_event("$disconnect")
                code, reason = conn.closed_by_gateway or (ws.close_code or 1006, ws.close_reason or "")
                with contextlib.suppress(FunctionError):
                    await self.call(
                        FUNCTION_FOR_ROUTE["$disconnect"], disconnect_event(self.api, conn.info, code, reason)
                    )

    async def _handle_frame(self, conn: Connection, message: str | bytes) -> None:
        is_binary = isinstance(message, bytes)
        size = len(message) if isinstance(message, bytes) else len(message.encode())
        meter = costs.active()
        if size > self.config.max_frame_bytes:
            if meter is not None:
                meter.frame_in("(too large)", size)
            await self._send(conn, json.dumps(_too_large(message, size, self.config.max_frame_bytes)), "(gateway)")
            return
        route_key = select_route(message)
        function = FUNCTION_FOR_ROUTE[route_key]
        if meter is not None:
            meter.frame_in(route_key, size)
        body = base64.b64encode(message).decode() if isinstance(message, bytes) else message
        event = message_event(self.api, conn.info, route_key, body, is_binary)
        try:
            result = await self.call(function, event)
        except FunctionError:
            reply = {
                "message": "Internal server error",
                "connectionId": conn.id,
                "requestId": event["requestContext"]["requestId"],
            }
            await self._send(conn, json.dumps(reply), function)
            return
        if isinstance(result, dict) and result.get("body") is not None:
            reply_body = result["body"]
            await self._send(conn, reply_body if isinstance(reply_body, str) else json.dumps(reply_body), function)

    async def _send(self, conn: Connection, text: str, function: str) -> bool:
        """A route's reply (or the gateway's own answer) to the frame; `function` is whose, for the cost meter."""
        if not conn.open:
            return False
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            return False
        meter = costs.active()
        if meter is not None:
            meter.reply_out(function, len(text.encode()))
        return True

    # ---------------------------------------------------------------- plain HTTP on the same port

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if is_management_path(path) or is_dev_path(path):
            refused = self._cross_site(request)
            if refused is not None:
                log.info("%s %s refused: %s", request.method, path, refused)
                return HttpResponse.json(403, {"message": "Forbidden: not this stack's own page"})
        if is_management_path(path):
            return await self.management.handle(request)
        answered = await self.dev.handle(request)
        if answered is not None:
            return answered
        if path in ("/ws", "/ws/"):
            return HttpResponse.json(426, {"message": "Upgrade Required"}, Upgrade="websocket")
        if request.method in ("GET", "HEAD"):
            return self.dev.static(path)
        return HttpResponse.json(405, {"message": "Method Not Allowed"})

    def _cross_site(self, request: HttpRequest) -> str | None:
        """Why a request to an endpoint must be refused as coming from another site's page, or None.

        The endpoints have no authentication: no CORS header lets another page read an answer, and a
        browser request from elsewhere is refused outright, so it cannot act either (sign someone up,
        post to a socket, drop a connection). Requests without these headers are not from a browser.
        The web client's static files are not endpoints: any page may link to them.
        """
        origin = request.headers.get("origin")
        if origin is not None and not self.origins.allows(origin, request.headers.get("host")):
            return f"Origin {origin}"
        # Sent by browsers even where Origin is not (a cross-site GET); "none" is the address bar.
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"Sec-Fetch-Site {site}"
        return None

    # ---------------------------------------------------------------- connections, test hooks

    def connection(self, connection_id: str) -> Connection | None:
        """The accepted connection with this id (open, or closing), or None."""
        return self._connections.get(connection_id)

    def is_connecting(self, connection_id: str) -> bool:
        """Whether this connection's `$connect` is still running."""
        return connection_id in self._connecting

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

    def cut(self, conn: Connection) -> None:
        """The connection is lost (the device's network went away): the TCP connection ends without a
        close frame, and `$disconnect` follows."""
        conn.ws.transport.abort()

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
