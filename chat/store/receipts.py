"""Receipts: per-member watermarks and the log of their forward moves.

A move is one transaction: the member's watermark is raised only if it is still below the new seq,
and the move is appended to the Receipts table, whose stream pushes the `receipt` frames. A
watermark that does not move writes nothing, so it pushes nothing.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chat.domain import Member, Receipt, ReceiptKind
from chat.store.errors import StoreConflict
from chat.store.models import MemberModel, ReceiptModel, connection

SEQ_DIGITS = 12


def receipt_key(user_id: str, kind: str, seq: int) -> str:
    # Zero-padded so a key range is a seq range for one (user, kind).
    return f"{user_id}#{kind}#{seq:0{SEQ_DIGITS}d}"


def _to_domain(row: ReceiptModel) -> Receipt:
    return Receipt(
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        kind=row.kind,  # type: ignore[arg-type]
        seq=int(row.seq),
        at=row.at,
    )


def receipt_from_image(image: dict[str, Any]) -> tuple[Receipt, str | None]:
    """A logged move from a stream record's NewImage, with the connection that caused it."""
    row = ReceiptModel.from_raw_data(image)
    return _to_domain(row), row.origin_connection_id


def move_watermark(member: Member, kind: ReceiptKind, seq: int, at: str, origin_connection_id: str) -> bool:
    """Raises the member's watermark to seq; False when it was already there or beyond.

    `read` implies `delivered`: a read move raises the delivered watermark with it.
    """
    current = member.read_seq if kind == "read" else member.delivered_seq
    if seq <= current:
        return False
    actions: list[Action] = []
    condition = MemberModel.left_seq.does_not_exist()
    if kind == "read":
        actions += [MemberModel.read_seq.set(seq), MemberModel.read_at.set(at)]
        condition &= MemberModel.read_seq == member.read_seq
    if member.delivered_seq < seq:
        actions += [MemberModel.delivered_seq.set(seq), MemberModel.delivered_at.set(at)]
        condition &= MemberModel.delivered_seq == member.delivered_seq
    log = ReceiptModel(
        conversation_id=member.conversation_id,
        receipt_key=receipt_key(member.user_id, kind, seq),
        user_id=member.user_id,
        kind=kind,
        seq=seq,
        at=at,
        origin_connection_id=origin_connection_id,
    )
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(MemberModel(conversation_id=member.conversation_id, user_id=member.user_id), actions, condition)
            tx.save(log)
    except TransactWriteError as exc:
        # Moved concurrently (by another device, or by sending): read again and decide again.
        raise StoreConflict() from exc
    return True


def first_move_at(conversation_id: str, user_id: str, kind: ReceiptKind, seq: int) -> str | None:
    """When the user's `kind` watermark first reached seq or beyond."""
    rows = ReceiptModel.query(
        conversation_id,
        range_key_condition=ReceiptModel.receipt_key.between(
            receipt_key(user_id, kind, seq), receipt_key(user_id, kind, 10**SEQ_DIGITS - 1)
        ),
        limit=1,
    )
    for row in rows:
        return row.at
    return None
