"""Pushing frames to sockets through the API Gateway management (@connections) API.

One message goes to many devices at once through a bounded thread pool, so a 500-device fan-out
takes a few round trips, not 500. 410 Gone means the socket is gone: its record is deleted and the
rest carry on. 429 is retried with backoff; what still fails is reported so the caller can fail the
stream record and have it retried (devices drop the duplicates by (conversationId, seq)).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, cast

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from chat import clock, config
from chat.concurrency import ContextPool
from chat.domain import Connection, Endpoint
from chat.observability import logger
from chat.store import connections as connection_store
from chat.store import users as user_store

MAX_PARALLEL_POSTS = 64
# API Gateway waits at most 29 s for $connect's integration; a 410 within that of connecting proves nothing.
CONNECTING_GRACE_S = 30
THROTTLE_RETRIES = 4
THROTTLE_BASE_DELAY_S = 0.05


class Gone(Exception):
    """410: the connection no longer exists."""


class Throttled(Exception):
    """429: too many requests; try again later."""


class PushIncomplete(Exception):
    """Some connections stayed throttled; the stream record is retried."""


class ConnectionPoster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...


class ConnectionCloser(Protocol):
    def close(self, connection_id: str) -> None: ...


class ApiGatewayPoster:
    """Posts through the apigatewaymanagementapi client (API Gateway in AWS, the local gateway locally).

    A botocore client, as PynamoDB's are: importing boto3 would add its resource layer and s3transfer
    (which imports multiprocessing) to the cold start of every function that posts, and none uses them.
    """

    def __init__(self, endpoint_url: str | None = None, client: Any = None) -> None:
        self._client: Any = client or botocore.session.get_session().create_client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint_url or config.callback_url(),
            region_name=config.region(),
            config=Config(
                max_pool_connections=MAX_PARALLEL_POSTS,
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=2,
                read_timeout=5,
            ),
        )

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            raise _meaning(exc, connection_id) from exc

    def close(self, connection_id: str) -> None:
        """DELETE @connections/{id}: API Gateway closes the socket (and runs $disconnect)."""
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            raise _meaning(exc, connection_id) from exc


def _meaning(exc: ClientError, connection_id: str) -> Exception:
    """410 is Gone, 429 Throttled; anything else stays the ClientError it is."""
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "GoneException" or status == 410:
        return Gone(connection_id)
    if code in ("LimitExceededException", "TooManyRequestsException", "ThrottlingException") or status == 429:
        return Throttled(connection_id)
    return exc


@lru_cache(maxsize=1)
def default_poster() -> ConnectionPoster:
    return ApiGatewayPoster()


@dataclass
class PushResult:
    delivered: list[Endpoint] = field(default_factory=list)
    gone: list[Endpoint] = field(default_factory=list)
    failed: list[Endpoint] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_if_incomplete(self, what: str, **context: object) -> None:
        """For stream handlers: failing the record makes Lambda retry it (devices drop duplicates)."""
        if self.failed:
            logger.warning(f"{what} incomplete", extra={**context, "failed": len(self.failed)})
            raise PushIncomplete(f"{what}: {len(self.failed)} connections still throttled")


def _post_with_backoff(poster: ConnectionPoster, conn: Endpoint, data: bytes, sleep: Callable[[float], None]) -> str:
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            poster.post(conn.connection_id, data)
            return "delivered"
        except Gone:
            return "gone"
        except Throttled:
            if attempt == THROTTLE_RETRIES:
                return "failed"
            sleep(THROTTLE_BASE_DELAY_S * (2**attempt) * (0.5 + random.random()))
        except Exception:
            logger.exception("post to connection failed", extra={"connectionId": conn.connection_id})
            return "failed"
    return "failed"


_pool = ContextPool(max_workers=MAX_PARALLEL_POSTS, name="push")


def push(
    deliveries: Iterable[tuple[Endpoint, bytes]],
    poster: ConnectionPoster | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Posts each (connection, frame) concurrently; deletes the records of connections that are gone."""
    poster = poster or default_poster()
    items = list(deliveries)
    result = PushResult()
    if not items:
        return result
    outcomes = _pool.map(lambda item: _post_with_backoff(poster, item[0], item[1], sleep), items)
    for (conn, _), outcome in zip(items, outcomes, strict=True):
        getattr(result, outcome).append(conn)
    _remove_gone(result.gone)
    return result


def post_in_order(
    conn: Endpoint,
    frames: Iterable[bytes],
    poster: ConnectionPoster | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Posts frames to one connection one after another, so the device gets them in this order.

    Each is posted as by `push` (429 retried with backoff); the first that is not delivered stops
    the rest. The connection ends up in one list of the result: delivered (all of them), gone (its
    record is removed as by `push`) or failed.
    """
    poster = poster or default_poster()
    result = PushResult()
    outcome = "delivered"
    for data in frames:
        outcome = _post_with_backoff(poster, conn, data, sleep)
        if outcome != "delivered":
            break
    getattr(result, outcome).append(conn)
    _remove_gone(result.gone)
    return result


def close_connection(
    conn: Endpoint, closer: ConnectionCloser | None = None, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Closes a client's socket: "closed", "gone" (410: closed already) or "failed" (429 retried with
    backoff as posts are, or another error)."""
    closer = closer or cast(ConnectionCloser, default_poster())
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            closer.close(conn.connection_id)
            return "closed"
        except Gone:
            return "gone"
        except Throttled:
            if attempt < THROTTLE_RETRIES:
                sleep(THROTTLE_BASE_DELAY_S * (2**attempt) * (0.5 + random.random()))
        except Exception:
            logger.exception("closing a connection failed", extra={"connectionId": conn.connection_id})
            return "failed"
    return "failed"


def _remove_gone(gone: list[Endpoint]) -> None:
    # API Gateway answers 410 for a socket whose $connect has not returned yet, too: a record that
    # young may belong to a device that is about to be connected, so it stays (it syncs once open).
    settled = clock.iso(clock.epoch_s() - CONNECTING_GRACE_S)
    for conn in gone:
        connection_store.delete_connection(conn.user_id, conn.connection_id, connected_before=settled)
    if gone:
        logger.info("removed gone connections", extra={"count": len(gone)})


def connections_of(user_ids: Iterable[str]) -> list[Endpoint]:
    """Where to push to these users: their listed connections (one BatchGetItem per 100 users)."""
    return user_store.endpoints_of(user_ids)


def live_connections_of(user_ids: Iterable[str]) -> list[Connection]:
    """Every unexpired connection record of these users (one Query per user, concurrently)."""
    users = list(dict.fromkeys(user_ids))
    found: list[Connection] = []
    for conns in _pool.map(connection_store.live_connections, users):
        found.extend(conns)
    return found


def push_to_users(
    user_ids: Iterable[str],
    frame_text: str,
    exclude_connection: str | None = None,
    poster: ConnectionPoster | None = None,
) -> PushResult:
    data = frame_text.encode("utf-8")
    targets = [c for c in connections_of(user_ids) if c.connection_id != exclude_connection]
    return push(((c, data) for c in targets), poster=poster)
