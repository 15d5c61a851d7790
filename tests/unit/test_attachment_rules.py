"""The attachment rules exist in three places: the server's (chat/protocol.py), and copies in the CLI and
the web client, which refuse a file before uploading it (neither imports the server). Kept in step here."""

from __future__ import annotations

import math
import re
from pathlib import Path

from chat.protocol import ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENT_BYTES
from cli import uploads

WEB_ATTACHMENTS = Path(__file__).resolve().parents[2] / "web" / "js" / "chat" / "attachments.js"


def test_the_cli_takes_what_the_server_takes() -> None:
    assert (frozenset(ATTACHMENT_CONTENT_TYPES), MAX_ATTACHMENT_BYTES) == (uploads.ALLOWED_TYPES, uploads.MAX_BYTES)


def test_the_web_client_takes_what_the_server_takes() -> None:
    source = WEB_ATTACHMENTS.read_text()
    allowed = re.search(r"ALLOWED_TYPES = new Set\(\[(.*?)\]\)", source, re.S)
    limit = re.search(r"MAX_ATTACHMENT_BYTES = ([\d\s*]+);", source)
    assert allowed is not None and limit is not None
    assert set(re.findall(r'"([^"]+)"', allowed.group(1))) == set(ATTACHMENT_CONTENT_TYPES)
    # A product of integer literals, as written there (16 * 1024 * 1024).
    assert math.prod(int(n) for n in re.findall(r"\d+", limit.group(1))) == MAX_ATTACHMENT_BYTES
