"""`scripts/smoke.py --local` against the session's local stack: the deploy smoke test cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STEPS = [
    "local tokens",
    "connect A, B, C",
    "A sends B a direct message: sent",
    "B receives the message",
    "B delivered: A gets receipt delivered",
    "B read: A gets receipt read",
    "A creates a group of A, B, C",
    "A sends into the group: sent",
    "B and C receive the group message",
    "a new device of B syncs both conversations",
    "B's new device syncs again with its token",
]


def test_the_smoke_script_passes_every_step_against_the_local_stack(local_stack) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/smoke.py", "--local", local_stack.http_url],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        # No AWS credentials or region: the local mode needs none.
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [re.sub(r" \(\d+ ms\)$", "", line) for line in lines] == [f"ok   {step}" for step in STEPS], lines
    assert all(re.fullmatch(r"ok   .+ \(\d+ ms\)", line) for line in lines), lines
    assert result.stderr == ""
