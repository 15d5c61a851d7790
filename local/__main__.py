"""`python -m local` (`make dev`): runs the local stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import errno
import faulthandler
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.origins import is_loopback, remote_bind_refusal, remote_bind_warning


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description="Run the chat backend locally.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (0.0.0.0, a LAN address): anyone there could mint tokens",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="0 picks a free port")
    parser.add_argument("--idle-timeout", type=float, help="seconds (default LOCAL_IDLE_TIMEOUT_S or 600)")
    parser.add_argument("--max-connection", type=float, help="seconds (default LOCAL_MAX_CONNECTION_S or 7200)")
    parser.add_argument("--ready-file", type=Path, help="write the stack's URLs here as JSON once it is ready")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every invocation")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(remote_bind_refusal(args.host), file=sys.stderr)
            return 2
        print(remote_bind_warning(args.host), file=sys.stderr, flush=True)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # moto's expression parser and PynamoDB log every request at DEBUG: lines by the ten thousand.
    for noisy in ("botocore", "boto3", "urllib3", "websockets", "werkzeug", "asyncio", "moto", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(1)  # a second Ctrl-C: do not wait for a clean stop
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # `kill -USR1 <pid>` prints every thread's stack: what is this stuck invocation doing?
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    # Imported here so the logging setup above applies to everything the stack imports.
    from local.stack import LocalStack

    stack = LocalStack(
        port=args.port,
        host=args.host,
        idle_timeout_s=args.idle_timeout,
        max_connection_s=args.max_connection,
        allow_remote=args.allow_remote,
    )
    try:
        stack.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"port {args.port} is in use; pick another one, e.g. PORT=9000 make dev", file=sys.stderr)
            return 1
        raise
    try:
        stack.wait_ready()
        if stack.missing_functions:
            print(f"note: not available yet: {', '.join(stack.missing_functions)}", file=sys.stderr)
        print(_banner(stack), flush=True)
        if args.ready_file:
            info = {"http_url": stack.http_url, "ws_url": stack.ws_url, "dynamodb_endpoint": stack.dynamodb_endpoint}
            tmp = args.ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            tmp.replace(args.ready_file)
        stop.wait()
        print("stopping...", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    return 0


def _banner(stack: object) -> str:
    from local.stack import LocalStack

    assert isinstance(stack, LocalStack)
    return "\n".join(
        [
            "",
            "Local chat stack is ready.",
            f"  WebSocket   {stack.ws_url}?token=<JWT>&deviceId=<id>",
            f"  Web client  {stack.http_url}/",
            f"  Token       curl '{stack.http_url}/dev/token?userId=alice'",
            f"  CLI         .venv/bin/python -m cli --url {stack.ws_url} --user alice --to bob",
            f"  DynamoDB    {stack.dynamodb_endpoint} (moto, in memory)",
            "Ctrl-C stops it.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
