"""Writes as values: each table module builds the writes of its own items, and a conditional write or a
transaction of several tables runs them here.

A transaction is composed in the module of the concept it serves (a send, a watermark move, a group
change, a connection) from the other tables' builders, so each table's attribute names stay in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chat.store.models import connection


@dataclass(frozen=True)
class Put:
    row: Model
    condition: Condition | None = None
    # What the item is, to tell which condition cancelled a transaction.
    role: str = ""

    def run(self) -> None:
        self.row.save(condition=self.condition)

    def add_to(self, tx: TransactWrite) -> None:
        tx.save(self.row, condition=self.condition)


@dataclass(frozen=True)
class Update:
    row: Model
    actions: list[Action]
    condition: Condition | None = None
    role: str = ""

    def run(self) -> None:
        # PynamoDB sets the row's attributes to the item as stored after the update.
        self.row.update(actions=self.actions, condition=self.condition)

    def add_to(self, tx: TransactWrite) -> None:
        tx.update(self.row, actions=self.actions, condition=self.condition)


@dataclass(frozen=True)
class Delete:
    row: Model
    condition: Condition | None = None
    role: str = ""

    def run(self) -> None:
        self.row.delete(condition=self.condition)

    def add_to(self, tx: TransactWrite) -> None:
        tx.delete(self.row, condition=self.condition)


@dataclass(frozen=True)
class Check:
    """A condition on an item the transaction writes nothing to (a ConditionCheck)."""

    model: type[Model]
    hash_key: Any
    range_key: Any
    condition: Condition
    role: str = ""

    def run(self) -> None:
        raise TypeError("a condition check only exists in a transaction")

    def add_to(self, tx: TransactWrite) -> None:
        tx.condition_check(self.model, self.hash_key, self.range_key, condition=self.condition)


Write = Put | Update | Delete | Check


def applied(write: Write) -> bool:
    """Runs one conditional write; False (and nothing written) when its condition did not hold."""
    try:
        write.run()
        return True
    except (PutError, UpdateError, DeleteError) as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


class Cancelled(Exception):
    """A transaction stored nothing: the roles of the items whose condition failed, and whether a
    concurrent transaction on the same items cancelled it (TransactionConflict: worth a retry)."""

    def __init__(self, failed: set[str], conflicted: bool) -> None:
        super().__init__(f"transaction cancelled (conditions failed: {sorted(failed)}, conflict: {conflicted})")
        self.failed = failed
        self.conflicted = conflicted


def sent_order(writes: Sequence[Write]) -> list[Write]:
    """The order the items go out in: PynamoDB's TransactWrite sends its condition checks, then the
    deletes, then the puts, then the updates, whatever order they were added in."""
    return [w for kind in (Check, Delete, Put, Update) for w in writes if isinstance(w, kind)]


def transact(writes: Sequence[Write]) -> None:
    """All of the writes or none (one TransactWriteItems: at most 100 items)."""
    try:
        with TransactWrite(connection=connection()) as tx:
            for write in writes:
                write.add_to(tx)
    except TransactWriteError as exc:
        # One reason per item, in the order the items were sent, which is not the order they were added.
        reasons = exc.cancellation_reasons or []
        sent = sent_order(writes)
        failed = {
            sent[i].role for i, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"
        }
        conflicted = any(reason and reason.code == "TransactionConflict" for reason in reasons)
        raise Cancelled(failed, conflicted) from exc
