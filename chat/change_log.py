"""The change log: how a `sync` with a token reads only the conversations that changed for its user.

Each user has a log (the Changes table): entries "conversation c changed for you at t", t in epoch ms.
A `sync` with a token from time T reads the entries from T - MARGIN_MS on (one strongly consistent
Query of the user's partition), then only those conversations. Nothing else is read, whatever the number
of conversations the user is in.

**What is logged.** Every change a user is told of in `synced` is pushed to that user's devices too: a
message it may see (fan-out), a watermark move it hears of (receipt push: in a direct chat both users,
in a group the member itself, or every member for the all-members `"*"`), a group change (its members
and whoever was removed or left). So one rule covers them all: *before a change is pushed, it is logged
for every user it is pushed to* (`log_change`), after it was stored; a group change, before it is stored
(`log_ahead`, below).

**Written once per reader, not once per change.** Logging for a member also marks its Members row
(`markedAt`). While the row is marked, later changes in that conversation log nothing more for it: the
entry already there makes every device of the user read the conversation at its next sync. A sync that
reads the conversation first removes the mark (`unmark`), then reads; the next change logs again. A
500-member group therefore writes, per message, only for the members whose devices synced the group
since it last changed: writes follow syncs, not messages.

**Why a sync misses nothing.** Four facts:

1. An entry is written before its mark, in the same invocation, and its time is taken before both: at
   most MARGIN_MS (the logging functions' time limit, plus clock skew) before the mark lands. (A row
   that joins a group is stored marked with the time of the entry written ahead for it.)
2. A round takes its start T before it reads the log, and hands T out as the next token when it ends.
3. A round clears every row it reads before reading it (a round over everything: every row it finds
   marked), and reads strongly consistently; so a round started from token T' clears every row that
   is marked when it reads the log: those rows' entries are timed T' - MARGIN_MS or later (below).
4. A change is logged after it is stored and before the devices to push it to are looked up (group
   changes: below).

Invariant: once a token T is handed out, every marked row has an entry timed T - MARGIN_MS or later.
A mark that landed after the round's start is timed T - MARGIN_MS or later (1, 2); one that landed
before is in the range of the round and cleared by it (3).

Take a change X of conversation c for user u, and D the moment its logging decided (it wrote an entry
and marked the row, or found the row marked). At D the row is marked by some entry e. Take a device of
u, and R its last round that started before D (none: its first round starts after D and reads X).
- If e's mark landed after R read the log, e is timed R's start - MARGIN_MS or later (1, 2): the
  device's next round, which starts after D, has e in its range and reads c after X was stored.
- Otherwise e's mark was there when R read the log: R's range holds e (invariant), so R clears the
  row; it does so after D (the row is still marked by e at D) and then reads c, after X was stored.
  (If another device's round cleared it first and a later change logged c again, c moved up in R's
  ranking past what R had sent: the device's next round has that later entry in its range.)
Meanwhile X is pushed to every connection listed after D (4): a device connected before its round.
A round may read more than changed (what changed within MARGIN_MS before its token), never less.

**Logged ahead (groups).** Fan-out and receipt pushes run from streams, which retry until the logging is
done. A group change is stored and announced by a synchronous route instead: should it stop between the
two, nothing would retry the logging. So groups log *ahead* (`log_ahead`): in the invocation that stores
the change, before storing it, an entry for every user the change is told to, marked or not, then the
marks. Entry time P, the change lands at S, at most MARGIN_MS after P (the invocation's time limit).
Take a device and R* its first round that starts after S; its token was handed out by a round that
started before S, so at most MARGIN_MS after P: R*'s range starts at or before P and it reads c after S.
(An entry is written even for a marked row: a sync may clear that mark before S, and its entry may be
older than the range of R*.) Nothing needs logging after the store; a change never stored costs an
extra read.

A sync without a token (an old client) reads every conversation as before and touches no mark.
"""

from __future__ import annotations

from collections.abc import Iterable

from chat import clock
from chat.concurrency import ContextPool
from chat.domain import Member
from chat.store import changes as change_store
from chat.store import members as member_store
from chat.store.writes import applied
from chat.topology import FUNCTIONS

# Entries live this long; a token older than that (less the margin) gets every conversation again.
CHANGES_KEPT_S = 30 * 24 * 3600
# The functions that log changes (each before it pushes them).
LOGGING_FUNCTIONS = ("fanout", "receipt_push", "groups", "message_changes", "preferences")
# How much earlier than it lands an entry's mark may be timed: the longest a logging invocation runs,
# plus a minute for clock skew between functions and requests still in flight at a time limit.
MARGIN_MS = (max(FUNCTIONS[name].timeout_s for name in LOGGING_FUNCTIONS) + 60) * 1000

# Logging for the members of a large group runs side by side.
_pool = ContextPool(max_workers=16, name="changes")


def log_change(conversation_id: str, told: Iterable[Member]) -> int:
    """Logs a change of the conversation for each of these (current or former) members whose row is not
    marked already, and marks it; call after the change is stored and before it is pushed. Returns how
    many were logged. The rows must have been read strongly consistently after the change was stored."""
    due = list({m.user_id for m in told if not m.marked})
    _log(conversation_id, due, marks=due)
    return len(due)


def log_ahead(conversation_id: str, user_ids: Iterable[str], rows: Iterable[Member]) -> int:
    """Logs a change the caller is about to store for each of these users, marked or not, then marks those
    of `rows` (their Members rows, read strongly consistently) not marked yet. Call in the invocation that
    stores the change, before it does. Returns the entries' time: rows the change creates may be stored
    marked with it."""
    return _log(conversation_id, list(set(user_ids)), marks=[m.user_id for m in rows if not m.marked])


def _log(conversation_id: str, entries: list[str], marks: list[str]) -> int:
    """An entry for each of `entries`, then the marks: every mark lands after its entry (the invariant)."""
    at = clock.epoch_ms()
    expires = at // 1000 + CHANGES_KEPT_S
    for _ in _pool.map(lambda user_id: change_store.logging(user_id, conversation_id, at, expires).run(), entries):
        pass
    for _ in _pool.map(lambda user_id: applied(member_store.marking(conversation_id, user_id, at)), marks):
        pass
    return at
