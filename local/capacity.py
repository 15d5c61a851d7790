"""DynamoDB's capacity rules, from item sizes: what a request costs in read and write request units.

moto answers `ReturnConsumedCapacity` with fixed figures whatever the item's size (1.0 for a
PutItem, a Query or a DeleteItem, 0.5 for a GetItem, even a strongly consistent one, 0.5 for an
UpdateItem, one unit per key for a BatchGetItem, nothing for a transaction, and no index writes),
so the cost meter (`local/costs.py`) computes them itself, with DynamoDB's rules:

- item size: attribute names and values in bytes, as "Item sizes and formats" in the DynamoDB
  developer guide counts them (UTF-8 strings, binary lengths, numbers 1 byte per 2 significant
  digits + 1, 1 byte for a boolean or null, lists and maps 3 bytes + 1 per element);
- reads: 1 unit per 4 KB strongly consistent, 0.5 eventually consistent, 2 transactional; a GetItem
  (each key of a BatchGetItem) rounds its item up, a Query or Scan rounds the sum of every item it
  read (before any filter or projection), and a read that finds nothing still costs the minimum;
  a global secondary index is read eventually consistently;
- writes: 1 unit per 1 KB of the larger of the item before and after (a delete: the item deleted;
  nothing there: still 1), 2 per 1 KB in a transaction (ConditionCheck included); a write refused by
  its condition is billed as if done to the item as it is;
- each global secondary index an item is in, or was in, costs its own writes of the index entry
  (the table's and index's keys, plus what is projected): one to add or remove it, two when the
  write changes the index's key (a delete and a put), one when only projected attributes change,
  none when nothing it projects changes. Index writes are billed as standard writes here, in a
  transaction too.

What is DynamoDB's documentation and what is assumed here is said in README ("Cost per message").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chat.topology import Index, Table

Item = Mapping[str, Mapping[str, Any]]  # DynamoDB JSON: name -> {"S": ...}

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


def number_size(text: str) -> int:
    """A number's size: 1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = "".join(str(d) for d in digits).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value (without its name)."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        return number_size(str(content))
    if kind == "B":
        return len(content) if isinstance(content, bytes | bytearray) else len(str(content).encode("utf-8"))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in content)
    if kind == "NS":
        return sum(number_size(str(n)) for n in content)
    if kind == "BS":
        return sum(len(b) if isinstance(b, bytes | bytearray) else len(str(b).encode("utf-8")) for b in content)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in content)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in content.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Item | None) -> int:
    """The item's size in bytes (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    """What reading `size` bytes costs (the minimum for nothing found)."""
    blocks = max(1, math.ceil(size / READ_UNIT_BYTES))
    return blocks * (2.0 if transactional else 1.0 if consistent else 0.5)


def write_units(size: int, transactional: bool = False) -> float:
    """What writing an item of `size` bytes costs (the larger of before and after; 1 unit at least)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES)) * (2.0 if transactional else 1.0)


def key_of(table: Table, item: Item) -> dict[str, Any]:
    """The table's primary key of an item."""
    names = [table.partition.name, *([table.sort.name] if table.sort else [])]
    return {name: item[name] for name in names}


def index_entry(table: Table, index: Index, item: Item | None) -> dict[str, Any] | None:
    """The item's entry in the index (what the index holds of it), or None if it is not in it."""
    if not item:
        return None
    index_keys = [index.partition.name, *([index.sort.name] if index.sort else [])]
    if any(name not in item for name in index_keys):
        return None  # sparse: an item without the index's keys is not in the index
    if index.projection == "ALL":
        return dict(item)
    names = {*index_keys, table.partition.name, *([table.sort.name] if table.sort else [])}
    return {name: item[name] for name in names if name in item}


@dataclass(frozen=True)
class IndexWrite:
    index: str
    units: float


def index_writes(table: Table, before: Item | None, after: Item | None) -> list[IndexWrite]:
    """The writes a change of one item (before -> after; None: absent) costs in the table's indexes."""
    writes: list[IndexWrite] = []
    for index in table.indexes:
        old, new = index_entry(table, index, before), index_entry(table, index, after)
        if old is None and new is None:
            continue
        if old is None or new is None:
            writes.append(IndexWrite(index.name, write_units(item_size(old if new is None else new))))
            continue
        index_keys = [index.partition.name, *([index.sort.name] if index.sort else [])]
        if any(old.get(name) != new.get(name) for name in index_keys):
            # The entry moves: one write deletes it, another puts it back under its new key.
            writes += [
                IndexWrite(index.name, write_units(item_size(old))),
                IndexWrite(index.name, write_units(item_size(new))),
            ]
        elif old != new:
            writes.append(IndexWrite(index.name, write_units(max(item_size(old), item_size(new)))))
    return writes
