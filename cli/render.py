"""How the client shows things: messages and check marks on stdout, notes and errors on stderr.

Colors only on a terminal, and never with NO_COLOR set: your message is `✓ #seq` once stored,
`✓✓` once the others' devices got it, and a blue `✓✓` once they read it.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, TextIO


def clock(timestamp: str) -> str:
    """An ISO timestamp as local hours and minutes."""
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M")
    except (ValueError, AttributeError):
        return "--:--"


class Screen:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        color = out.isatty() and not os.environ.get("NO_COLOR")
        self.blue, self.dim, self.red, self.reset = (
            ("\033[34m", "\033[2m", "\033[31m", "\033[0m") if color else ("", "", "", "")
        )

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(f"{self.dim}-- {text}{self.reset}", file=self.err, flush=True)

    def error(self, text: str) -> None:
        print(f"{self.red}error: {text}{self.reset}", file=self.err, flush=True)

    # ---------------------------------------------------------------- messages and check marks

    def message(self, sent_at: str, label: str, who: str, text: str) -> None:
        self.print(f"{self.dim}{clock(sent_at)}{self.reset} [{label}] {who}: {text}")

    def sent(self, sent_at: str, label: str, text: str, seq: Any) -> None:
        """One of your messages, stored with its seq: one check mark."""
        self.print(f"{self.dim}{clock(sent_at)}{self.reset} [{label}] you: {text}  ✓ #{seq}")

    def receipt(self, label: str, who: str, kind: str, seq: int) -> None:
        """`who` got (or read) your messages up to `seq`: two check marks, blue when read."""
        if kind == "read":
            self.print(f"{self.blue}✓✓{self.reset} [{label}] {who} read up to #{seq}")
        else:
            self.print(f"✓✓ [{label}] {who} received up to #{seq}")

    def history_message(self, seq: Any, sent_at: str, who: str, text: str) -> None:
        self.print(f"{self.dim}#{seq} {clock(sent_at)}{self.reset} {who}: {text}")

    def changed(self, label: str, seq: Any, what: str) -> None:
        """Message #seq was edited, deleted or reacted to: how it reads now."""
        self.print(f"{self.dim}~{self.reset} [{label}] #{seq} {what}")

    def member_receipt(self, user_id: str, read_at: str | None, delivered_at: str | None) -> None:
        """Where one member is with a message (/info): read, received, or only sent."""
        if read_at:
            mark = f"{self.blue}✓✓ read {clock(read_at)}{self.reset}"
        else:
            mark = f"✓✓ received {clock(delivered_at)}" if delivered_at else "✓"
        self.print(f"  {user_id}: {mark}")
