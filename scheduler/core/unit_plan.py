"""Which unit each occurrence of a series gets, so a permit holder keeps one space.

Pure: the units of the resource, and for each occurrence the units others already hold
during it, in; a plan out. A unit free on every occurrence is kept throughout (the preferred
one if it is among them). Otherwise ``same`` keeps the unit free on the most occurrences (the
occurrences where it is taken are then refused) and ``fewest_changes`` assigns, by dynamic
programming over the occurrences, free units with the fewest changes of unit between
consecutive booked occurrences (ties: the preferred unit, then the resource's order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

UnitPolicy = Literal["same", "fewest_changes"]


@dataclass(frozen=True, slots=True)
class UnitPlan:
    """``units[i]`` is the unit occurrence ``i`` asks for exactly (None: no unit is free then);
    ``free_throughout`` the units free on every occurrence; ``changes`` the changes of unit
    between consecutive occurrences that have one."""

    units: tuple[str | None, ...]
    free_throughout: tuple[str, ...]
    changes: int


def free_throughout(units: Sequence[str], taken: Sequence[set[str]]) -> tuple[str, ...]:
    """The units nobody holds during any occurrence."""
    return tuple(unit for unit in units if all(unit not in held for held in taken))


def _ranked(units: Sequence[str], preferred: str | None) -> list[str]:
    return sorted(units, key=lambda unit: (unit != preferred, units.index(unit)))


def plan_units(
    units: Sequence[str],
    taken: Sequence[set[str]],
    preferred: str | None,
    policy: UnitPolicy,
    exact: bool = False,
) -> UnitPlan:
    """The unit of every occurrence under ``policy`` (``exact``: the preferred unit or none)."""
    whole = free_throughout(units, taken)
    ranked = _ranked(units, preferred)
    if exact and preferred is not None:
        return UnitPlan(tuple(preferred for _ in taken), whole, 0)
    if whole:
        keep = next(unit for unit in ranked if unit in whole)
        return UnitPlan(tuple(keep for _ in taken), whole, 0)
    if policy == "same":
        keep = max(ranked, key=lambda unit: sum(unit not in held for held in taken))
        return UnitPlan(tuple(keep for _ in taken), whole, 0)
    return _fewest_changes(ranked, taken, whole)


def _fewest_changes(
    ranked: list[str], taken: Sequence[set[str]], whole: tuple[str, ...]
) -> UnitPlan:
    # cost[u]: fewest changes of an assignment of the occurrences so far ending on unit u.
    cost: dict[str, int] = dict.fromkeys(ranked, 0)
    back: list[dict[str, str]] = []
    for held in taken:
        free = [unit for unit in ranked if unit not in held]
        if not free:
            back.append({})  # nothing to assign: the occurrence is left out of the chain
            continue
        best = min(ranked, key=lambda unit: cost[unit])
        step: dict[str, str] = {}
        new: dict[str, int] = {}
        for unit in free:
            stay, switch = cost[unit], cost[best] + 1
            new[unit], step[unit] = (stay, unit) if stay <= switch else (switch, best)
        cost = {unit: new.get(unit, len(taken) + 1) for unit in ranked}
        back.append(step)
    last = min(ranked, key=lambda unit: cost[unit])
    chosen: list[str | None] = []
    current = last
    for step in reversed(back):
        if not step:
            chosen.append(None)
            continue
        chosen.append(current)
        current = step[current]
    plan = tuple(reversed(chosen))
    assigned = [unit for unit in plan if unit is not None]
    changes = sum(1 for a, b in pairwise(assigned) if a != b)
    return UnitPlan(plan, whole, changes)
