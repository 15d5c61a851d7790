"""The Limits table: short-lived counters of fixed-window rate limits (typing)."""

from __future__ import annotations

from chat.store.models import LimitModel
from chat.store.writes import Update, applied


def take_slot(limit_key: str, limit: int, expires_at: int) -> bool:
    """Counts one use of a fixed-window limit; False (and nothing counted) once `limit` uses were taken.

    One atomic conditional UpdateItem: concurrent callers can never take more than `limit` slots.
    """
    return applied(
        Update(
            LimitModel(limit_key=limit_key),
            [LimitModel.uses.add(1), LimitModel.expires_at.set(expires_at)],
            LimitModel.uses.does_not_exist() | (LimitModel.uses < limit),
        )
    )
