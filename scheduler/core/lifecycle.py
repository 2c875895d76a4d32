"""The booking state machine (see docs/bookings.md for the diagram).

``pending`` awaits approval and ``offered`` is a time-limited hold: both hold capacity, as do
``confirmed`` and ``checked_in``. Every other state holds nothing.
"""

from __future__ import annotations

from typing import Literal, get_args

BookingStatus = Literal[
    "pending",
    "confirmed",
    "rejected",
    "checked_in",
    "completed",
    "no_show",
    "cancelled",
    "expired",
    "entered",
    "not_selected",
    "waitlisted",
    "offered",
    "lapsed",
]
STATUSES: tuple[str, ...] = get_args(BookingStatus)

Action = Literal[
    "approve",
    "reject",
    "cancel",
    "check_in",
    "complete",
    "no_show",
    "expire",
    "accept",
    "accept_for_approval",
    "lapse",
    "win",
    "win_for_approval",
    "lose",
    "offer",
]
ACTIVE = frozenset({"pending", "confirmed", "checked_in", "offered"})

TRANSITIONS: dict[str, dict[str, str]] = {
    "approve": {"pending": "confirmed"},
    "reject": {"pending": "rejected"},
    "cancel": {
        "pending": "cancelled",
        "confirmed": "cancelled",
        "offered": "cancelled",
        "waitlisted": "cancelled",
        "entered": "cancelled",
    },
    "check_in": {"confirmed": "checked_in"},
    "complete": {"checked_in": "completed", "confirmed": "completed"},
    "no_show": {"confirmed": "no_show"},
    "expire": {"pending": "expired", "confirmed": "expired"},
    "accept": {"offered": "confirmed"},
    "accept_for_approval": {"offered": "pending"},
    "lapse": {"offered": "lapsed"},
    "win": {"entered": "confirmed"},
    "win_for_approval": {"entered": "pending"},
    "lose": {"entered": "not_selected"},
    "offer": {"waitlisted": "offered"},
}


class ImpossibleTransition(ValueError):
    def __init__(self, action: str, status: str) -> None:
        allowed = sorted(TRANSITIONS.get(action, {}))
        super().__init__(
            f"Cannot {action.replace('_', ' ')} a {status} booking (only {', '.join(allowed)})."
        )
        self.action, self.status, self.allowed = action, status, allowed


def next_status(action: Action, current: str) -> str:
    """The state ``action`` leads to from ``current``, or ``ImpossibleTransition``."""
    target = TRANSITIONS[action].get(current)
    if target is None:
        raise ImpossibleTransition(action, current)
    return target


def releases_capacity(before: str, after: str) -> bool:
    return before in ACTIVE and after not in ACTIVE


def takes_capacity(before: str, after: str) -> bool:
    """Entries that win and waitlisted bookings that are offered start holding capacity."""
    return before not in ACTIVE and after in ACTIVE
