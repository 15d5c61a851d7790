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

from chat.domain import Member, Receipt, ReceiptKind, WatermarkMove
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


def log_row(move: WatermarkMove) -> ReceiptModel:
    receipt = move.receipt
    return ReceiptModel(
        conversation_id=receipt.conversation_id,
        receipt_key=receipt_key(receipt.user_id, receipt.kind, receipt.seq),
        user_id=receipt.user_id,
        kind=receipt.kind,
        seq=receipt.seq,
        at=receipt.at,
        origin_connection_id=move.origin_connection_id,
    )


def log_move(move: WatermarkMove) -> None:
    """Logs a move that raises no member's watermark (a group's "*")."""
    log_row(move).save()


def move_watermark(member: Member, move: WatermarkMove) -> None:
    """Raises the member's watermarks as decided, only if they are still where `member` has them."""
    seq, at = move.receipt.seq, move.receipt.at
    actions: list[Action] = []
    condition = MemberModel.left_seq.does_not_exist()
    for kind in move.raises:
        level, level_at = (
            (MemberModel.read_seq, MemberModel.read_at)
            if kind == "read"
            else (MemberModel.delivered_seq, MemberModel.delivered_at)
        )
        actions += [level.set(seq), level_at.set(at)]
        condition &= level == member.watermark(kind).seq
    log = log_row(move)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(MemberModel(conversation_id=member.conversation_id, user_id=member.user_id), actions, condition)
            tx.save(log)
    except TransactWriteError as exc:
        # Moved concurrently (by another device, or by sending): read again and decide again.
        raise StoreConflict() from exc


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
