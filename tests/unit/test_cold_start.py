"""What each function's handler module loads at cold start, checked without timing anything: each
handler is imported in a fresh interpreter, as Lambda does, and the test reads what ended up in
`sys.modules` (scripts/cold_start.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from chat import topology
from chat.config import default_table_environment

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import {module}
modules = sorted(sys.modules)
built = []
protocol = sys.modules.get("chat.protocol")
if protocol is not None:
    from pydantic import BaseModel

    built = [
        name
        for name, value in vars(protocol).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__pydantic_complete__
    ]
print(json.dumps({{"modules": modules, "built": built}}))
"""

# Functions that neither parse nor send a frame (the sweep closes sockets): no pydantic at all.
NO_FRAMES = ("authorizer", "signup", "connect", "disconnect", "sweep")
# Only the authorizer verifies tokens.
NO_JWT = tuple(name for name in topology.FUNCTIONS if name != topology.AUTHORIZER)
# Each stream function's domain module, which the other stream functions do not import.
STREAM_DOMAINS = {"fanout": "chat.fanout", "receipt_push": "chat.receipts", "presence_push": "chat.presence"}


@cache
def loaded_by(function: str) -> tuple[set[str], list[str]]:
    """The modules a fresh interpreter holds once the function's handler module is imported, and the
    protocol models built by then."""
    module = topology.FUNCTIONS[function].handler.rpartition(".")[0]
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE.format(root=str(ROOT), module=module)],
        env={
            "AWS_REGION": "us-east-1",
            "WEBSOCKET_CALLBACK_URL": "https://example.execute-api.us-east-1.amazonaws.com/prod",
            topology.ENV_CONNECTION_LEASE_S: str(topology.CONNECTION_LEASE_S),
            **default_table_environment(),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    return set(found["modules"]), found["built"]


def tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("function", topology.FUNCTIONS)
def test_no_function_imports_the_xray_sdk(function: str) -> None:
    # A Powertools Tracer imports it (about half a second); nothing traces.
    assert "aws_xray_sdk" not in tops(loaded_by(function)[0])


@pytest.mark.parametrize("function", topology.FUNCTIONS)
def test_no_function_imports_boto3(function: str) -> None:
    # botocore clients only (PynamoDB's, chat/push.py's): boto3 adds its resource layer and s3transfer,
    # which imports multiprocessing.
    assert not {"boto3", "s3transfer"} & tops(loaded_by(function)[0])


@pytest.mark.parametrize("function", topology.FUNCTIONS)
def test_no_protocol_model_is_built_at_import(function: str) -> None:
    # Each is built when first used (defer_build): a function uses a few of them.
    assert loaded_by(function)[1] == []


@pytest.mark.parametrize("function", NO_FRAMES)
def test_functions_without_frames_do_not_import_pydantic(function: str) -> None:
    modules = loaded_by(function)[0]
    assert not {"pydantic", "pydantic_core"} & tops(modules)
    assert "chat.protocol" not in modules


@pytest.mark.parametrize("function", NO_JWT)
def test_only_the_authorizer_imports_the_jwt_library(function: str) -> None:
    assert not {"jwt", "cryptography"} & tops(loaded_by(function)[0])


@pytest.mark.parametrize("function", STREAM_DOMAINS)
def test_stream_functions_import_their_own_domain_only(function: str) -> None:
    modules = loaded_by(function)[0]
    # Its consumer's domain is imported at cold start, not on the first batch.
    assert STREAM_DOMAINS[function] in modules
    others = {domain for name, domain in STREAM_DOMAINS.items() if name != function}
    assert others.isdisjoint(modules)
