"""The Receipts table: the log of watermark moves, whose stream pushes the `receipt` frames.

A move is one transaction: the member's watermarks are raised only if they are still where the move
was decided from, and the move is appended to the log. A watermark that does not move writes
nothing, so it pushes nothing.
"""

from __future__ import annotations

from typing import Any

from chat.domain import Member, Receipt, ReceiptKind, WatermarkMove
from chat.store import members
from chat.store.errors import StoreConflict
from chat.store.models import ReceiptModel
from chat.store.writes import Cancelled, Put, transact

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


def logging(move: WatermarkMove) -> Put:
    receipt = move.receipt
    row = ReceiptModel(
        conversation_id=receipt.conversation_id,
        receipt_key=receipt_key(receipt.user_id, receipt.kind, receipt.seq),
        user_id=receipt.user_id,
        kind=receipt.kind,
        seq=receipt.seq,
        at=receipt.at,
        origin_connection_id=move.origin_connection_id,
    )
    return Put(row, role="receipt")


def log_move(move: WatermarkMove) -> None:
    """Logs a move that raises no member's watermarks (a group's "*")."""
    logging(move).run()


def move_watermark(member: Member, move: WatermarkMove) -> None:
    """Raises the member's watermarks as `move` decided and logs it, only if they are still where
    `member` has them."""
    try:
        transact([members.raising(move, expected=member), logging(move)])
    except Cancelled as exc:
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
