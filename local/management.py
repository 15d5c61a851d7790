"""The @connections management API of the local gateway: what functions call to reach a socket.

`POST /@connections/{id}` sends the body as one frame, `GET` describes the connection, `DELETE`
closes it (which runs `$disconnect`), as API Gateway's PostToConnection, GetConnection and
DeleteConnection do, with its errors: 410 `GoneException` for a connection that is closed, unknown,
or whose `$connect` has not completed, 413 `PayloadTooLargeException` for a post over 128 KB, and
429 `LimitExceededException` when throttled.

Two faults (chat/faults.py) happen here: `post.throttle` answers a POST 429, and `post.gone` answers
it 410 for a live connection, which API Gateway then has lost: its TCP connection is cut (no close
frame), as when the device's network went away, and `$disconnect` follows.
boto3's `apigatewaymanagementapi` client, pointed at the gateway's port, talks to it unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

from websockets.exceptions import ConnectionClosed

from chat import faults
from local.events import iso
from local.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from local.gateway import Gateway

log = logging.getLogger("local.gateway")

# PostToConnection's limit (the `Data` blob's max in the API model).
MAX_POST_BYTES = 128 * 1024
PREFIX = "/@connections/"


def is_management_path(path: str) -> bool:
    return PREFIX in path


def _gone() -> HttpResponse:
    return HttpResponse.json(410, {"message": "Connection is gone"}, **{"x-amzn-ErrorType": "GoneException"})


def _throttled() -> HttpResponse:
    return HttpResponse.json(429, {"message": "Too Many Requests"}, **{"x-amzn-ErrorType": "LimitExceededException"})


class ManagementApi:
    def __init__(self, gateway: Gateway, post_delay_s: float = 0.0) -> None:
        self.gateway = gateway
        # Benchmarks only: each POST waits this long first, like a far-away API Gateway.
        self.post_delay_s = post_delay_s

    async def handle(self, request: HttpRequest) -> HttpResponse:
        raw = request.path.split(PREFIX, 1)[1]
        if not raw or "/" in raw:
            return HttpResponse.json(404, {"message": "Not Found"})
        connection_id = unquote(raw)
        conn = self.gateway.connection(connection_id)
        if conn is None or not conn.open:
            if conn is not None or self.gateway.is_connecting(connection_id):
                log.info("@connections %s %s: 410, its $connect has not completed", request.method, connection_id)
            return _gone()
        if request.method == "POST":
            if len(request.body) > MAX_POST_BYTES:
                return HttpResponse.json(
                    413, {"message": "Message too long"}, **{"x-amzn-ErrorType": "PayloadTooLargeException"}
                )
            if self.post_delay_s:
                await asyncio.sleep(self.post_delay_s)
            if faults.fires("post.throttle"):
                log.info("@connections POST %s: 429 (fault post.throttle)", connection_id)
                return _throttled()
            if faults.fires("post.gone"):
                log.info("@connections POST %s: 410, the connection is lost (fault post.gone)", connection_id)
                self.gateway.cut(conn)
                return _gone()
            data = bytes(request.body)
            try:
                text: str | bytes = data.decode()
            except UnicodeDecodeError:
                text = data
            try:
                await conn.ws.send(text)
            except ConnectionClosed:
                return _gone()
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
            conn.close_soon(1000, "")
            return HttpResponse(204)
        return HttpResponse.json(405, {"message": "Method Not Allowed"})
