"""A small `scripts/soak.py` run: 300 messages among 12 devices, every fault on (turned up so that each
one fires in so short a run), sockets dropped every 15 s on average. Nothing may be lost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chat.faults import POINTS
from tests.conftest import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
FAULTS = (
    "send.crash_after_store=0.05,fanout.crash=0.05,post.gone=0.01,post.throttle=0.05,stream.duplicate=0.1,"
    "disconnect.drop=0.3,ddb.throttle=0.01"
)
SUMMARY = re.compile(
    r"soak PASS: acknowledged 300, stored 300, lost 0, duplicated 0, gaps 0, differing 0, unanswered 0, errors 0, "
    r"converged yes; latency p50 \d+ ms p99 \d+ ms; 12 devices, 8 users, \d+ conversations; \d+ s"
)


@pytest.mark.timeout(600)
def test_a_small_soak_with_every_fault_on_loses_nothing() -> None:
    command = [
        sys.executable,
        "scripts/soak.py",
        *("--messages", "300", "--users", "8", "--devices", "12", "--groups", "2"),
        *("--faults", FAULTS, "--seed", "1", "--drop-every", "15", "--max-seconds", "480"),
        *("--log", str(ARTIFACTS / "local-stack-soak-small.log")),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=540, cwd=ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert SUMMARY.fullmatch(result.stdout.strip()), result.stdout + result.stderr
    # Every fault was met, and sockets were dropped and cut
    (fired,) = [line for line in result.stderr.splitlines() if line.startswith("faults fired: ")]
    counts = dict(re.findall(r"([a-z._]+) (\d+)", fired.split(";")[0]))
    assert set(counts) == set(POINTS) and all(int(n) > 0 for n in counts.values()), fired
    assert re.search(r"sockets dropped [1-9]\d*, cut by the stack [1-9]", fired), fired
