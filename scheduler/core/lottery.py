"""A seeded, replayable lottery for oversubscribed releases.

The draw order is a uniform shuffle of the entries (sorted by id first, so the order of rows
from the database does not matter) driven by ``random.Random(seed)``. Anyone holding the
recorded seed and entries can recompute the winners.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    holder: str
    quantity: int
    slot_starts: tuple[datetime, ...]


def new_seed() -> str:
    return secrets.token_hex(16)


def draw_order(entry_ids: Sequence[str], seed: str) -> list[str]:
    order = sorted(entry_ids)
    random.Random(seed).shuffle(order)
    return order


def select_winners(entries: Sequence[Entry], seed: str, free: Mapping[datetime, int]) -> list[str]:
    """Winners in draw order: an entry wins if every one of its slots still has room for its
    quantity, and its holder has not already won an overlapping slot in this draw."""
    by_id = {entry.id: entry for entry in entries}
    room = dict(free)
    won_slots: dict[str, set[datetime]] = {}
    winners: list[str] = []
    for entry_id in draw_order(list(by_id), seed):
        entry = by_id[entry_id]
        if won_slots.get(entry.holder, set()) & set(entry.slot_starts):
            continue
        if all(room.get(start, 0) >= entry.quantity for start in entry.slot_starts):
            for start in entry.slot_starts:
                room[start] -= entry.quantity
            won_slots.setdefault(entry.holder, set()).update(entry.slot_starts)
            winners.append(entry_id)
    return winners
