"""How long each function's handler takes to import, against `import boto3` alone.

    .venv/bin/python scripts/cold_start.py [--runs 7]

A Lambda cold start imports the handler module (and builds what it builds at import) before the
first invocation; boto3 is the floor every function pays. Each import runs in a fresh interpreter
(`python -I -c "import ..."`, timed inside the child with perf_counter around the import), several
times; the best run counts (the least disturbed by the rest of the machine). Prints one line per
function: milliseconds, and the ratio to boto3's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat.config import default_table_environment  # noqa: E402
from chat.topology import CONNECTION_LEASE_S, ENV_CONNECTION_LEASE_S, FUNCTIONS  # noqa: E402

PROBE = """
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
import {module}
print((time.perf_counter() - start) * 1000)
"""


def import_ms(module: str, runs: int) -> float:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "WEBSOCKET_CALLBACK_URL": "https://example.execute-api.us-east-1.amazonaws.com/prod",
        ENV_CONNECTION_LEASE_S: str(CONNECTION_LEASE_S),
        **default_table_environment(),
    }
    best = float("inf")
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-I", "-c", PROBE.format(root=str(ROOT), module=module)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        best = min(best, float(result.stdout.strip().splitlines()[-1]))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    floor = import_ms("boto3", args.runs)
    print(f"{'boto3':<14} {floor:7.1f} ms  1.00x")
    worst = 0.0
    for name, spec in FUNCTIONS.items():
        module = spec.handler.rpartition(".")[0]
        ms = import_ms(module, args.runs)
        worst = max(worst, ms / floor)
        print(f"{name:<14} {ms:7.1f} ms  {ms / floor:4.2f}x")
    print(f"worst ratio {worst:.2f}x (best of {args.runs} runs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
