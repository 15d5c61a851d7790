"""The MessageChanges table: each edit, deletion or reaction of a conversation under its change number."""

from __future__ import annotations

from chat.domain import MessageChange
from chat.store.models import MessageChangeModel
from chat.store.writes import Put


def change_to_domain(row: MessageChangeModel) -> MessageChange:
    return MessageChange(
        conversation_id=row.conversation_id,
        change=int(row.change),
        seq=int(row.seq),
        kind=row.kind,  # type: ignore[arg-type]
        by=row.by,
        at=row.at,
    )


def recording(change: MessageChange) -> Put:
    """The change's record; only if its number is free (the conversation's lastChange guards it too)."""
    row = MessageChangeModel(
        conversation_id=change.conversation_id,
        change=change.change,
        seq=change.seq,
        kind=change.kind,
        by=change.by,
        at=change.at,
    )
    return Put(row, MessageChangeModel.change.does_not_exist(), role="change")


def changes_between(conversation_id: str, after: int, up_to: int) -> list[MessageChange]:
    """The changes numbered after < change <= up_to, in order (strongly consistent)."""
    if up_to <= after:
        return []
    rows = MessageChangeModel.query(
        conversation_id,
        range_key_condition=MessageChangeModel.change.between(after + 1, up_to),
        consistent_read=True,
    )
    return [change_to_domain(row) for row in rows]
