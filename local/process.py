"""The local stack in a child process, with the same interface as `LocalStack`.

Tests use this one: the stack sets process-wide environment variables, imports the handlers with
that environment, and keeps moto's global in-memory backends, none of which may leak into other
tests (moto-based integration tests reset those very backends). A child process isolates all of
it; the test-only hooks (`connections`, `drop_connection_silently`) go over the stack's local
`/dev/` HTTP endpoints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from chat.topology import (
    ENV_CALLBACK_URL,
    ENV_CONNECTION_LEASE_S,
    ENV_JWKS_URL,
    ENV_JWT_AUDIENCE,
    ENV_JWT_ISSUER,
    QUEUES,
    TABLES,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Environment the stack sets for itself: values left by other tests in this process must not leak in.
STACK_OWNED = (
    {table.env for table in TABLES.values()}
    | {queue.env for queue in QUEUES}
    | {
        ENV_CALLBACK_URL,
        ENV_CONNECTION_LEASE_S,
        ENV_JWT_ISSUER,
        ENV_JWT_AUDIENCE,
        ENV_JWKS_URL,
    }
)


class LocalStackProcess:
    def __init__(
        self,
        *,
        idle_timeout_s: float | None = None,
        max_connection_s: float | None = None,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_connection_s = max_connection_s
        self.log_path = log_path
        self.extra_env = env or {}
        self.http_url = ""
        self.ws_url = ""
        self.dynamodb_endpoint = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> LocalStackProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> LocalStackProcess:
        self._tmp = tempfile.TemporaryDirectory(prefix="chat-local-")
        ready_file = Path(self._tmp.name) / "ready.json"
        log_path = self.log_path or Path(self._tmp.name) / "stack.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "local", "--port", "0", "--ready-file", str(ready_file), "-v"]
        if self.idle_timeout_s is not None:
            command += ["--idle-timeout", str(self.idle_timeout_s)]
        if self.max_connection_s is not None:
            command += ["--max-connection", str(self.max_connection_s)]
        inherited = {
            k: v for k, v in os.environ.items() if k not in STACK_OWNED and not k.startswith("AWS_ENDPOINT_URL")
        }
        env = {**inherited, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        with open(log_path, "wb") as log:
            self._process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready_file.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"the local stack exited ({self._process.returncode}):\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the local stack did not start in {timeout} s:\n{_tail(log_path)}")
            time.sleep(0.05)
        info = json.loads(ready_file.read_text())
        self.http_url, self.ws_url, self.dynamodb_endpoint = info["http_url"], info["ws_url"], info["dynamodb_endpoint"]
        self.log_path = log_path
        self.wait_ready()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.http_url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the local stack is not ready")
            time.sleep(0.1)

    def token(self, user_id: str, ttl_s: int | None = None) -> str:
        query = {"userId": user_id, **({"ttlS": str(ttl_s)} if ttl_s is not None else {})}
        token: str = self._get(f"/dev/token?{urllib.parse.urlencode(query)}")["token"]
        return token

    def connections(self) -> list[dict[str, Any]]:
        """Open connections: connectionId, userId, deviceId, connectedAt."""
        connections: list[dict[str, Any]] = self._get("/dev/connections")["connections"]
        return connections

    def drop_connection_silently(self, connection_id: str) -> bool:
        """Closes the socket without running `$disconnect` (API Gateway's disconnect is best effort)."""
        quoted = urllib.parse.quote(connection_id, safe="")
        request = urllib.request.Request(f"{self.http_url}/dev/connections/{quoted}/drop", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=10):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def costs(self) -> dict[str, Any]:
        """The cost meter's snapshot (`local.costs.Meter.snapshot`); start with env={"LOCAL_COST_METER": "1"}."""
        try:
            snapshot: dict[str, Any] = self._get("/dev/costs")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise RuntimeError("the cost meter is off: start the stack with LOCAL_COST_METER=1") from exc
            raise
        return snapshot

    def dynamodb(self) -> Any:
        """A boto3 DynamoDB client on the stack's moto."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.http_url}{path}", timeout=10) as response:
            return json.loads(response.read())


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
