"""`since` and `syncToken` (docs/PROTOCOL.md, sync): where a device's next `sync` starts. Pure, no I/O.

A sync *round* lists conversations, newest change first, over one or more pages (`complete: false`
asks for the next). A token says which round the next call belongs to:

- "" (a device's first sync): a new round over every conversation of the user;
- `1.<since>`: a new round over the conversations whose changes were logged from `since` (epoch ms,
  less the log's margin, chat/change_log.py) on;
- `1.<since or all>.<round>.<at>.<conversationId>`: the rest of an unfinished round that started at
  `round`: the conversations ranked after the last one a page sent (changed last at `at`).

A round that ends hands out `1.<its start>`: what changed while it ran is listed by the next one.
Clients keep the text as it is; only this module reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION = "1"
_EVERYTHING = "all"
_NUMBER = r"(0|[1-9][0-9]{0,15})"
_ID = r"([A-Za-z0-9_-]{1,128})"
_COMPLETE = re.compile(rf"{VERSION}\.{_NUMBER}")
_PARTIAL = re.compile(rf"{VERSION}\.({_EVERYTHING}|{_NUMBER})\.{_NUMBER}\.{_NUMBER}\.{_ID}")
# Every text `parse` takes: what the `sync` frame's `since` is checked against (chat/protocol.py).
PATTERN = rf"^(|{_COMPLETE.pattern}|{_PARTIAL.pattern})$"


@dataclass(frozen=True)
class Rank:
    """A conversation's place in a round: the newest change first, then by id."""

    at_ms: int
    conversation_id: str

    @property
    def key(self) -> tuple[int, str]:
        return (-self.at_ms, self.conversation_id)

    def comes_after(self, other: Rank) -> bool:
        return self.key > other.key


@dataclass(frozen=True)
class SyncToken:
    # Conversations whose changes were logged from then (epoch ms); None: every conversation.
    since_ms: int | None = None
    # An unfinished round: when it started, and the last conversation it sent.
    round_ms: int | None = None
    after: Rank | None = None

    def __post_init__(self) -> None:
        if (self.round_ms is None) != (self.after is None):
            raise ValueError("an unfinished round has both its start and its last conversation")

    def text(self) -> str:
        if self.round_ms is None or self.after is None:
            if self.since_ms is None:
                return ""
            return f"{VERSION}.{self.since_ms}"
        since = _EVERYTHING if self.since_ms is None else str(self.since_ms)
        return f"{VERSION}.{since}.{self.round_ms}.{self.after.at_ms}.{self.after.conversation_id}"


def parse(text: str) -> SyncToken:
    """The token a `since` carries; ValueError for text this module did not write."""
    if text == "":
        return SyncToken()
    if match := _COMPLETE.fullmatch(text):
        return SyncToken(since_ms=int(match.group(1)))
    if match := _PARTIAL.fullmatch(text):
        since, _number, round_ms, at_ms, conversation_id = match.groups()
        return SyncToken(
            since_ms=None if since == _EVERYTHING else int(since),
            round_ms=int(round_ms),
            after=Rank(int(at_ms), conversation_id),
        )
    raise ValueError("not a syncToken")


def ended(round_ms: int) -> SyncToken:
    """What a round that listed everything it had to hands out: its start."""
    return SyncToken(since_ms=round_ms)


def unfinished(token: SyncToken, round_ms: int, last_sent: Rank | None) -> SyncToken:
    """The rest of `token`'s round, which started at `round_ms`, after `last_sent`; with nothing sent yet,
    `token` itself (a round started again reads everything it lists again, after its new start)."""
    if last_sent is None:
        return token
    return SyncToken(token.since_ms, round_ms, last_sent)
