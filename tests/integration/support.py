"""Driving the real handlers against moto: the one invocation path, and a fake @connections API.

Events come from `local.events` and stream records from `local.streams.StreamReader`, as the local
stack sends them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

from chat.push import Gone, Throttled
from local.iam import acting_as
from local.lambdas import LambdaContext, load_handler


def invoke(function: str, event: dict[str, Any]) -> Any:
    """One invocation of a topology function, as Lambda runs it: its AWS calls are held to its role."""
    with acting_as(function):
        return load_handler(function)(event, LambdaContext.of(function))


def connection_record(user_id: str, connection_id: str) -> Any:
    """The stored Connections item (a ConnectionModel), or None: what a test checks is what is stored."""
    from chat.store.models import ConnectionModel

    try:
        return ConnectionModel.get(user_id, connection_id, consistent_read=True)
    except ConnectionModel.DoesNotExist:
        return None


class FakePoster:
    """Stands in for the @connections API: records posts and closes, answers 410 for gone ids and 429 on
    demand, and fails closes on demand."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.gone: set[str] = set()
        self.throttle: dict[str, int] = defaultdict(int)  # connection id -> how many 429s before success
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.attempts: dict[str, int] = defaultdict(int)
        self.closed: list[str] = []
        self.failing_closes: set[str] = set()
        self._lock = threading.Lock()

    def close(self, connection_id: str) -> None:
        with self._lock:
            if connection_id in self.failing_closes:
                raise RuntimeError("API Gateway answered 500")
            if connection_id in self.gone:
                raise Gone(connection_id)
            self.closed.append(connection_id)
            self.gone.add(connection_id)

    def post(self, connection_id: str, data: bytes) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.attempts[connection_id] += 1
            if connection_id in self.gone:
                raise Gone(connection_id)
            if self.throttle[connection_id] > 0:
                self.throttle[connection_id] -= 1
                raise Throttled(connection_id)
            self.frames[connection_id].append(json.loads(data))

    def of_type(self, connection_id: str, frame_type: str) -> list[dict[str, Any]]:
        return [f for f in self.frames[connection_id] if f["type"] == frame_type]


def table_contents(*, but: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (but those named), by strongly consistent scans: what is stored."""
    import boto3

    from chat.config import table_name
    from chat.topology import TABLES

    client = boto3.client("dynamodb", region_name="us-east-1")
    contents: dict[str, list[dict[str, Any]]] = {}
    for name, table in TABLES.items():
        if name in but:
            continue
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table_name(table), "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        contents[name] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return contents
