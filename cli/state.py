"""What the client keeps between runs: its device id and, per conversation, the last seq it holds and
its change cursor (the `lastChange` of the last `synced`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import urllib.parse
import uuid
from pathlib import Path
from typing import Any


class State:
    """Device id and cursors, kept in ~/.config/chat-cli/<user>@<server>.json."""

    def __init__(self, user: str, url: str) -> None:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "chat-cli"
        server = urllib.parse.urlsplit(url).netloc or "server"
        self.path = base / re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{user}@{server}.json")
        data: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text())
        host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:24] or "host"
        self.device_id: str = data.get("deviceId") or f"cli-{host}-{uuid.uuid4().hex[:6]}"
        self.cursors: dict[str, int] = {k: int(v) for k, v in data.get("cursors", {}).items()}
        self.change_cursors: dict[str, int] = {k: int(v) for k, v in data.get("changeCursors", {}).items()}

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"deviceId": self.device_id, "cursors": self.cursors, "changeCursors": self.change_cursors})
            )
            tmp.replace(self.path)
