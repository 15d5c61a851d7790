"""Entry point: `python -m cli`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from cli.client import ChatClient, Options
from cli.connection import Refused, Unreachable

DEFAULT_URL = "ws://127.0.0.1:8080/ws"


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m cli",
        description="Chat from a terminal. Type a line to send it; /help lists commands.",
        epilog="Scripting: --json prints every server frame as one JSON line and sends each stdin line as a frame.",
    )
    parser.add_argument("--url", default=os.environ.get("CHAT_URL", DEFAULT_URL), help=f"default {DEFAULT_URL}")
    parser.add_argument("--user", default=os.environ.get("CHAT_USER"), help="your user id (token subject)")
    parser.add_argument("--device", help="device id (default: one made for this machine and kept)")
    parser.add_argument("--token", default=os.environ.get("CHAT_TOKEN"), help="a JWT (default: the local /dev/token)")
    parser.add_argument("--to", help="start in the direct chat with this user")
    parser.add_argument("--json", action="store_true", help="raw frames: one JSON per line, both ways")
    args = parser.parse_args(argv)
    if not args.user and not args.token:
        parser.error("--user is required (or --token)")
    return Options(url=args.url, user=args.user or "", device=args.device, token=args.token, to=args.to, json=args.json)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    try:
        return asyncio.run(ChatClient(options).run())
    except (Refused, Unreachable) as exc:
        print(f"chat: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
