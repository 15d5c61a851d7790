"""What a typed line means: text to send, or a slash command with its arguments (`parse`)."""

from __future__ import annotations

from dataclasses import dataclass

HELP = """\
commands:
  <text>                 send to the open conversation
  /to USER               open the direct chat with USER
  /open ID|#NAME         open a conversation (see /who)
  /who                   list conversations
  /group NAME USER...    create a group with these members
  /add USER... | /remove USER... | /leave     manage the open group
  /history [N]           N older messages of the open conversation
  /info [SEQ]            who received and read a message (default: the last)
  /reply SEQ TEXT        answer message #SEQ of the open conversation
  /edit SEQ TEXT         change the text of your message #SEQ (for 15 minutes)
  /delete SEQ            delete your message #SEQ for everyone (for 48 hours)
  /react SEQ [EMOJI]     react to message #SEQ; without an emoji, take your reaction back
  /send-file PATH        send a photo or file (up to 16 MB) to the open conversation
  /mute [UNTIL]          mute the open conversation on all your devices (until an ISO time, e.g.
                         2026-12-01T08:00:00Z; without one, until /unmute)
  /unmute                unmute it
  /block USER | /unblock USER   stop (or allow again) direct messages with USER
  /presence USER...      follow who is online
  /quit                  leave (Ctrl-D too)"""

DEFAULT_HISTORY = 20


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class To:
    user: str


@dataclass(frozen=True)
class Open:
    wanted: str  # a conversation id, its start, or #name


@dataclass(frozen=True)
class Who:
    pass


@dataclass(frozen=True)
class CreateGroup:
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class ChangeMembers:
    """/add or /remove, in the open conversation."""

    add: bool
    users: tuple[str, ...]


@dataclass(frozen=True)
class Leave:
    """Leave the open conversation (a group)."""


@dataclass(frozen=True)
class History:
    """Older messages of the open conversation."""

    limit: int


@dataclass(frozen=True)
class Info:
    """Who received and read a message of the open conversation (None: its last)."""

    seq: int | None


@dataclass(frozen=True)
class Reply:
    seq: int
    text: str


@dataclass(frozen=True)
class Edit:
    seq: int
    text: str


@dataclass(frozen=True)
class Delete:
    seq: int


@dataclass(frozen=True)
class React:
    """`emoji` "" takes the reaction back."""

    seq: int
    emoji: str


@dataclass(frozen=True)
class SendFile:
    """Upload the file and send it in the open conversation."""

    path: str


@dataclass(frozen=True)
class Mute:
    """`until` None: until unmuted."""

    until: str | None


@dataclass(frozen=True)
class Unmute:
    pass


@dataclass(frozen=True)
class Block:
    user: str
    blocked: bool


@dataclass(frozen=True)
class FollowPresence:
    users: tuple[str, ...]


@dataclass(frozen=True)
class Unknown:
    """An unknown command, or a known one with missing or extra arguments."""


Command = (
    Say
    | Quit
    | Help
    | To
    | Open
    | Who
    | CreateGroup
    | ChangeMembers
    | Leave
    | History
    | Info
    | FollowPresence
    | Unknown
    | Reply
    | Edit
    | Delete
    | React
    | Mute
    | Unmute
    | Block
    | SendFile
)
# Commands about the open conversation: without one, they are Unknown too.
IN_OPEN_CONVERSATION = (ChangeMembers, Leave, History, Info, Reply, Edit, Delete, React, Mute, Unmute, SendFile)


def _about_a_message(name: str, rest: list[str]) -> Command:
    """/reply, /edit, /delete or /react: a seq, then the text (as typed, inner spaces kept) or emoji."""
    if not rest or not rest[0].isdigit() or int(rest[0]) < 1:
        return Unknown()
    seq, after = int(rest[0]), rest[1] if len(rest) > 1 else ""
    if name == "/delete":
        return Delete(seq) if not after else Unknown()
    if name == "/react":
        return React(seq, after) if " " not in after else Unknown()
    if not after:
        return Unknown()
    return Reply(seq, after) if name == "/reply" else Edit(seq, after)


def parse(line: str) -> Command | None:
    """The command a line (stripped) is; None for an empty line."""
    if not line:
        return None
    if not line.startswith("/"):
        return Say(line)
    name, *args = line.split()
    if name in ("/reply", "/edit", "/delete", "/react"):
        return _about_a_message(name, line.split(maxsplit=2)[1:])
    if name == "/send-file":
        path = line.split(maxsplit=1)[1] if args else ""  # the rest of the line: a path may hold spaces
        return SendFile(path) if path else Unknown()
    if name in ("/quit", "/exit"):
        return Quit()
    if name == "/help":
        return Help()
    if name == "/to" and len(args) == 1:
        return To(args[0])
    if name == "/open" and len(args) == 1:
        return Open(args[0])
    if name == "/who":
        return Who()
    if name == "/group" and len(args) >= 2:
        return CreateGroup(args[0], tuple(args[1:]))
    if name in ("/add", "/remove") and args:
        return ChangeMembers(add=name == "/add", users=tuple(args))
    if name == "/leave":
        return Leave()
    if name == "/history":
        return History(int(args[0]) if args and args[0].isdigit() else DEFAULT_HISTORY)
    if name == "/info":
        return Info(int(args[0]) if args and args[0].isdigit() else None)
    if name == "/mute" and len(args) <= 1:
        return Mute(args[0] if args else None)
    if name == "/unmute" and not args:
        return Unmute()
    if name in ("/block", "/unblock") and len(args) == 1:
        return Block(args[0], blocked=name == "/block")
    if name == "/presence" and args:
        return FollowPresence(tuple(args))
    return Unknown()
