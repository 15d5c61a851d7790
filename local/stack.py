"""The whole system on one machine: moto, the gateway, the stream pollers and a token issuer.

    with LocalStack(port=0) as stack:
        token = stack.token("alice")
        ...  # connect to stack.ws_url?token=...&deviceId=...

The stack runs in background threads (the gateway on its own event loop). Handlers read their
environment at import, so the stack sets the process environment (table endpoints, callback URL,
JWT settings) before importing them: run one LocalStack per process. Tests that must not share
a process with it use `local.process.LocalStackProcess`, which has the same interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from chat.config import ENV_RATE_LIMITS, default_bucket_environment, default_table_environment, table_name
from chat.notifiers import ENV_NOTIFIER
from chat.topology import (
    CONNECTION_LEASE_S,
    ENV_CALLBACK_URL,
    ENV_CONNECTION_LEASE_S,
    QUEUES,
    SCHEDULES,
    STREAMS,
    TABLES,
    Schedule,
)
from infrastructure.template import synthesized_template
from local import costs, dynamodb_quirks, iam
from local.buckets import create_buckets
from local.events import LOCAL_API, scheduled_event
from local.gateway import Gateway, GatewayConfig
from local.issuer import LocalIssuer
from local.lambdas import FunctionError, Functions, Handler
from local.moto_server import MotoServer
from local.origins import RemoteBindRefused, ServedOrigins, is_loopback, is_wildcard, remote_bind_refusal, url_host
from local.queues import QueuePoller, create_queues
from local.schema import create_tables
from local.streams import StreamPoller

log = logging.getLogger("local")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGION = iam.REGION
ACCOUNT_ID = iam.ACCOUNT_ID
DEFAULT_IDLE_TIMEOUT_S = 600.0
DEFAULT_MAX_CONNECTION_S = 7200.0

_started_in_process = threading.Lock()


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


class LocalStack:
    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        idle_timeout_s: float | None = None,
        max_connection_s: float | None = None,
        web_dir: Path | None = None,
        functions: Mapping[str, Handler] | None = None,
        workers: int = 32,
        ttl_sweep_s: float | None = None,
        connection_lease_s: int | None = None,
        schedule_scale: float | None = None,
        allow_remote: bool = False,
    ) -> None:
        if not is_loopback(host) and not allow_remote:
            raise RemoteBindRefused(remote_bind_refusal(host))
        self.host = host
        self.port = port
        self.idle_timeout_s = idle_timeout_s or _env_float("LOCAL_IDLE_TIMEOUT_S", DEFAULT_IDLE_TIMEOUT_S)
        self.max_connection_s = max_connection_s or _env_float("LOCAL_MAX_CONNECTION_S", DEFAULT_MAX_CONNECTION_S)
        self.ttl_sweep_s = ttl_sweep_s or _env_float("LOCAL_TTL_SWEEP_S", 60.0)
        # Tests shorten the connection lease (the functions' CONNECTION_LEASE_S) and run the scheduled
        # functions more often (every `every_s * schedule_scale` seconds) than AWS would.
        self.connection_lease_s = connection_lease_s or int(_env_float("LOCAL_CONNECTION_LEASE_S", CONNECTION_LEASE_S))
        self.schedule_scale = schedule_scale or _env_float("LOCAL_SCHEDULE_SCALE", 1.0)
        self.web_dir = web_dir or PROJECT_ROOT / "web"
        # The stack itself and tests talk to it, and browsers on this machine (attachments: presigned S3 URLs,
        # allowed by the bucket's CORS rules for the stack's own pages only).
        self.moto = MotoServer("127.0.0.1")
        self.functions = Functions(REGION, ACCOUNT_ID, overrides=functions)
        self.workers = workers
        self.missing_functions: list[str] = []
        self.issuer: LocalIssuer | None = None
        self._key_dir: str | None = None
        self._gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pollers: list[StreamPoller] = []
        self._queue_pollers: list[QueuePoller] = []
        self._queue_urls: dict[str, str] = {}
        self._housekeeping: threading.Thread | None = None
        self._schedulers: list[threading.Thread] = []
        self._ready = threading.Event()
        self._saved_env: dict[str, str | None] = {}
        self._meter: costs.Meter | None = None

    # ---------------------------------------------------------------- addresses

    @property
    def _reachable_host(self) -> str:
        """Where clients on this machine connect (bound to every interface: the loopback one)."""
        return "127.0.0.1" if is_wildcard(self.host) else url_host(self.host)

    @property
    def http_url(self) -> str:
        return f"http://{self._reachable_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._reachable_host}:{self.port}/ws"

    @property
    def dynamodb_endpoint(self) -> str:
        return self.moto.endpoint

    def token(self, user_id: str, ttl_s: int | None = None) -> str:
        """Signs the user in as `/dev/token` does: the signup function creates the user, then a token.

        Call it from any thread but the gateway's.
        """
        assert self._gateway is not None, "start the stack first"
        return str(self._gateway.run_threadsafe(self._gateway.dev.sign_in(user_id, ttl_s)))

    def _issue(self, user_id: str, ttl_s: int | None = None) -> str:
        assert self.issuer is not None, "start the stack first"
        return self.issuer.issue(user_id) if ttl_s is None else self.issuer.issue(user_id, ttl_s=ttl_s)

    def dynamodb(self) -> Any:
        """A boto3 DynamoDB client on the stack's moto."""
        return boto3.client("dynamodb", endpoint_url=self.dynamodb_endpoint, region_name=REGION)

    def s3(self) -> Any:
        """A boto3 S3 client on the stack's moto."""
        return boto3.client("s3", endpoint_url=self.moto.endpoint, region_name=REGION)

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        if not _started_in_process.acquire(blocking=False):
            raise RuntimeError("one LocalStack per process: handlers read their environment once, at import")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Bind first: the port (maybe picked by the OS) is part of the handlers' environment.
        sock = socket.create_server((self.host, self.port))
        self.port = sock.getsockname()[1]
        template = synthesized_template()
        # Every AWS call a function makes is held to its role in the synthesized template.
        if iam.active_enforcer() is None:
            iam.enforce(iam.Policies.from_template(template))
        # ...and answered as DynamoDB answers (pages, unprocessed keys, index lag, conflicts), as configured.
        dynamodb_quirks.install()
        # LOCAL_COST_METER=1: every function's AWS requests, frames and invocations counted (`/dev/costs`).
        self._meter = costs.start_from_env()
        self.moto.start()
        self._key_dir = tempfile.mkdtemp(prefix="chat-local-")
        self.issuer = LocalIssuer(Path(self._key_dir))
        # Before the process environment is set (the queue URLs are part of it): moto's own credentials.
        sqs = boto3.client(
            "sqs",
            endpoint_url=self.moto.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self._queue_urls = create_queues(sqs, template)
        environment = self._environment()
        self._saved_env = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        create_tables(self.dynamodb())
        create_buckets(
            self.s3(), sorted(f"http://{h}:{self.port}" for h in ServedOrigins(self.host, self.port).hostnames)
        )
        self.missing_functions = self.functions.load_all()

        config = GatewayConfig(
            host=self.host,
            port=self.port,
            idle_timeout_s=self.idle_timeout_s,
            max_connection_s=self.max_connection_s,
            web_dir=self.web_dir,
            post_delay_s=_env_float("LOCAL_POST_DELAY_MS", 0.0) / 1000,
            behaviours=lambda: [
                *self.functions.behaviours,
                *(f"dynamodb {q}" for q in dynamodb_quirks.quirks.active),
                *([f"rate limits {os.environ[ENV_RATE_LIMITS]}"] if os.environ.get(ENV_RATE_LIMITS) else []),
                *self._timing_behaviours,
                *(["cost meter (/dev/costs)"] if self._meter is not None else []),
            ],
            api=dataclasses.replace(LOCAL_API, domain_name=self.host),
        )
        self._gateway = Gateway(config, self.functions.invoke, self._issue, workers=self.workers)
        loop = self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run_loop() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._gateway.start(sock))  # type: ignore[union-attr]
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop_thread = threading.Thread(target=run_loop, name="gateway", daemon=True)
        self._loop_thread.start()
        if not started.wait(30):
            raise RuntimeError("the gateway did not start")

        sqs = boto3.client("sqs", endpoint_url=self.moto.endpoint, region_name=REGION)
        # Stream function -> the URL of its mapping's on-failure queue in moto.
        dead_letters = {
            function: sqs.create_queue(QueueName=queue)["QueueUrl"]
            for function, queue in iam.on_failure_queues(template).items()
        }
        for stream in STREAMS:
            poller = StreamPoller(
                stream,
                self.functions,
                self.moto.endpoint,
                REGION,
                self.moto.writes,
                self._stop,
                on_failure_queue_url=dead_letters.get(stream.function),
            )
            poller.start()
            self._pollers.append(poller)
        for queue in QUEUES:
            queue_poller = QueuePoller(
                queue,
                self._queue_urls[queue.logical_name],
                self.functions.invoke,
                self.moto.endpoint,
                REGION,
                self.moto.writes,
                self._stop,
            )
            queue_poller.start()
            self._queue_pollers.append(queue_poller)
        self._housekeeping = threading.Thread(target=self._housekeep, name="housekeeping", daemon=True)
        self._housekeeping.start()
        for schedule in SCHEDULES:
            thread = threading.Thread(
                target=self._run_on_schedule, args=(schedule,), name=f"schedule-{schedule.function}", daemon=True
            )
            thread.start()
            self._schedulers.append(thread)
        self._gateway.ready = True
        self._ready.set()

    def _environment(self) -> dict[str, str]:
        assert self.issuer is not None
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODBSTREAMS": self.moto.endpoint,
            "AWS_ENDPOINT_URL_SQS": self.moto.endpoint,
            # Presigned attachment URLs point here: a browser and the tests reach it on this machine.
            "AWS_ENDPOINT_URL_S3": self.moto.endpoint,
            **{queue.env: self._queue_urls[queue.logical_name] for queue in QUEUES},
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            # Push notifications are recorded, not sent (`/dev/notifications`, chat/notifiers.py).
            ENV_NOTIFIER: "recording",
            ENV_CALLBACK_URL: self.http_url,
            ENV_CONNECTION_LEASE_S: str(self.connection_lease_s),
            "POWERTOOLS_METRICS_NAMESPACE": "Chat",
            "POWERTOOLS_SERVICE_NAME": "chat",
            **default_table_environment(),
            **default_bucket_environment(),
            **self.issuer.env(),
        }

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not self._ready.wait(timeout):
            raise TimeoutError("the local stack is not ready")
        with urllib.request.urlopen(f"{self.http_url}/health", timeout=timeout) as response:
            if response.status != 200:
                raise RuntimeError(f"/health answered {response.status}")

    def stop(self) -> None:
        self._ready.clear()
        if self._gateway is not None and self._loop is not None and self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._gateway.stop(), self._loop).result(timeout=30)
            except Exception:
                log.exception("stopping the gateway failed")
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=10)
        self._stop.set()
        self.moto.writes.bump()
        for poller in self._pollers:
            poller.join(timeout=5)
        for queue_poller in self._queue_pollers:
            queue_poller.join(timeout=5)
        if self._housekeeping is not None:
            self._housekeeping.join(timeout=5)
        for thread in self._schedulers:
            thread.join(timeout=5)
        self.moto.stop()
        if self._meter is not None:
            costs.stop()
            self._meter = None
        if self._key_dir:
            shutil.rmtree(self._key_dir, ignore_errors=True)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        self._gateway = self._loop = self._loop_thread = self._housekeeping = None
        self._pollers = []
        self._queue_pollers = []
        self._schedulers = []
        if _started_in_process.locked():
            _started_in_process.release()

    # ---------------------------------------------------------------- test hooks

    def connections(self) -> list[dict[str, Any]]:
        """Open connections: connectionId, userId, deviceId, connectedAt."""
        assert self._gateway is not None
        gateway = self._gateway

        async def snapshot() -> list[dict[str, Any]]:
            return gateway.connections()

        result: list[dict[str, Any]] = gateway.run_threadsafe(snapshot())
        return result

    def drop_connection_silently(self, connection_id: str) -> bool:
        """Closes the socket without running `$disconnect` (API Gateway's disconnect is best effort)."""
        assert self._gateway is not None
        return bool(self._gateway.run_threadsafe(self._gateway.drop_silently(connection_id)))

    def costs(self) -> dict[str, Any]:
        """The cost meter's snapshot (`local.costs.Meter.snapshot`); the stack must run with LOCAL_COST_METER=1."""
        meter = costs.active()
        if meter is None:
            raise RuntimeError("the cost meter is off: start the stack with LOCAL_COST_METER=1")
        return meter.snapshot()

    # ---------------------------------------------------------------- housekeeping

    @property
    def _timing_behaviours(self) -> list[str]:
        """Leases and schedules unlike AWS's, for /health."""
        found = []
        if self.connection_lease_s != CONNECTION_LEASE_S:
            found.append(f"connection lease {self.connection_lease_s}s")
        if self.schedule_scale != 1.0:
            found += [f"schedule {s.function} every {s.every_s * self.schedule_scale:g}s" for s in SCHEDULES]
        return found

    def _run_on_schedule(self, schedule: Schedule) -> None:
        """What the schedule's EventBridge rule does: invoke the function every `every_s` (scaled)."""
        interval = schedule.every_s * self.schedule_scale
        while not self._stop.wait(interval):
            # A failed run is logged by the invocation; the next run does the same work.
            with contextlib.suppress(FunctionError):
                self.functions.invoke(schedule.function, scheduled_event(LOCAL_API, f"chat-{schedule.function}"))

    def _housekeep(self) -> None:
        """Every few seconds: drop moto's stale shard iterators; now and then: expire TTL items."""
        last_sweep = time.monotonic()
        while not self._stop.wait(5):
            self._prune_iterators()
            if time.monotonic() - last_sweep >= self.ttl_sweep_s:
                last_sweep = time.monotonic()
                try:
                    self._sweep_ttl()
                except Exception:
                    log.exception("TTL sweep failed")

    def _prune_iterators(self) -> None:
        locks = [p.reader.lock for p in self._pollers]
        for lock in locks:
            lock.acquire()
        try:
            keep = set().union(*(p.reader.live_iterators() for p in self._pollers))
            self.moto.prune_shard_iterators(keep)
        finally:
            for lock in locks:
                lock.release()

    def _sweep_ttl(self) -> None:
        """DynamoDB deletes items whose TTL attribute is in the past (moto does not): do it here."""
        dynamodb = self.dynamodb()
        now = int(time.time())
        for table in TABLES.values():
            if not table.ttl_attribute:
                continue
            keys = [table.partition.name, *([table.sort.name] if table.sort else [])]
            paginator = dynamodb.get_paginator("scan")
            pages = paginator.paginate(
                TableName=table_name(table),
                FilterExpression="#ttl < :now",
                ExpressionAttributeNames={"#ttl": table.ttl_attribute},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
            for page in pages:
                for item in page.get("Items", []):
                    with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
                        dynamodb.delete_item(
                            TableName=table_name(table),
                            Key={k: item[k] for k in keys},
                            ConditionExpression="#ttl < :now",
                            ExpressionAttributeNames={"#ttl": table.ttl_attribute},
                            ExpressionAttributeValues={":now": {"N": str(now)}},
                        )
