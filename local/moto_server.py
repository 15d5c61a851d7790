"""moto as the local DynamoDB + DynamoDB Streams (+ SQS) endpoint, in this process, in a thread.

`local.moto_patches` makes moto answer one request at a time (atomic, as DynamoDB's are) and
replaces its transaction rollback (whole-table copies) with an item-level one; see there why. The
tests that use moto in-process apply the same patches.

A middleware tells stream pollers when a write happened, so they fetch new stream records at once
instead of waiting for their next poll.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local import moto_patches

log = logging.getLogger("local.moto")

# X-Amz-Target operations that can change items (and so produce stream records).
WRITE_OPERATIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)


# SQS operations after which a queue may have a message to hand out.
QUEUE_OPERATIONS = frozenset({"SendMessage", "SendMessageBatch", "ChangeMessageVisibility"})
# What queue pollers wait on (WriteSignal counts it as one more "table").
QUEUE_SIGNAL = "sqs"

TABLE_NAME = re.compile(rb'"TableName"\s*:\s*"([^"]+)"')


class WriteSignal:
    """Per table, a counter of write requests that threads can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generations: dict[str, int] = {}

    def generation(self, table: str) -> int:
        with self._cond:
            return self._generations.setdefault(table, 0)

    def bump(self, tables: Iterable[str] | None = None) -> None:
        """Records a write to `tables` (None: to any table, e.g. PartiQL or a shutdown wake-up)."""
        with self._cond:
            for table in self._generations if tables is None else tables:
                self._generations[table] = self._generations.get(table, 0) + 1
            self._cond.notify_all()

    def wait_past(self, table: str, generation: int, timeout: float) -> int:
        """Waits until `table` was written after `generation`, or `timeout` passed; returns its generation."""
        with self._cond:
            self._generations.setdefault(table, 0)
            self._cond.wait_for(lambda: self._generations[table] != generation, timeout=timeout)
            return self._generations[table]


class _SignalWrites:
    """WSGI middleware: a signal after each write, naming the tables it wrote to when it can."""

    def __init__(self, app: Callable[..., Iterable[bytes]], writes: WriteSignal) -> None:
        self.app = app
        self.writes = writes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        tables: set[str] | None = None
        if operation in WRITE_OPERATIONS:
            # Peek at the body to learn which tables change, so only their pollers wake up.
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            tables = {m.decode() for m in TABLE_NAME.findall(body)} or None
        result = self.app(environ, start_response)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if operation in WRITE_OPERATIONS:
            self.writes.bump(tables)
        elif operation in QUEUE_OPERATIONS and environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonSQS."):
            self.writes.bump({QUEUE_SIGNAL})
        return chunks


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.writes = WriteSignal()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_patches.apply()
        # Browsers on this machine reach this server (presigned attachment URLs): no blanket CORS answer
        # (moto's default allows any origin, for every service); S3 answers as its bucket's CORS rules say.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        app = _SignalWrites(DomainDispatcherApplication(create_backend_app), self.writes)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        log.debug("moto listening on %s", self.endpoint)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            moto_patches.restore()
        self._server = self._thread = None

    def prune_shard_iterators(self, keep: set[str]) -> int:
        """moto keeps every shard iterator it ever handed out; drop those no poller holds any more."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        dropped = 0
        with moto_patches.LOCK:
            for account in list(dict.values(dynamodbstreams_backends)):
                for backend in list(dict.values(account)):
                    for arn in [a for a in backend.shard_iterators if a not in keep]:
                        del backend.shard_iterators[arn]
                        dropped += 1
        return dropped
