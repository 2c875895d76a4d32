"""The booking state machine (see docs/bookings.md for the diagram), and who may move a
booking along it when: approval, cancel deadlines, check-in windows, offers.

``pending`` awaits approval and ``offered`` is a time-limited hold: both hold capacity, as do
``confirmed`` and ``checked_in``. Every other state holds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, get_args

from scheduler.core import refusals as kinds
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal, TimingFacts
from scheduler.core.timerange import TimeRange

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


class Actor(Protocol):
    """Who acts on a booking (``auth.Principal`` is one)."""

    @property
    def sub(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def partner(self) -> str | None: ...
    @property
    def is_staff(self) -> bool: ...
    @property
    def communities(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Held:
    """What the lifecycle rules need to know about one booking."""

    holder_id: str
    partner_id: str
    status: str
    range: TimeRange
    offer_expires_at: datetime | None = None
    created_by: str | None = None
    holder_community: str | None = None


def manages(actor: Actor, partner_id: str) -> bool:
    """Staff manage everything; a partner manages its own resources' bookings."""
    return actor.is_staff or (actor.role == "partner" and actor.partner == partner_id)


def serves(actor: Actor, community: str | None) -> bool:
    """Whether a neighbourhood worker serves the residents of ``community``."""
    return actor.role == "worker" and community is not None and community in actor.communities


def may_book_for(actor: Actor, holder_community: str | None, partner_id: str) -> bool:
    """Staff book for anyone; a partner for anyone on its own resources; a neighbourhood
    worker for the residents of their communities, on any resource."""
    return manages(actor, partner_id) or serves(actor, holder_community)


def may_see(actor: Actor, booking: Held) -> bool:
    """Holders see their own bookings, partners those on their resources, workers those of
    their communities' residents, staff all."""
    return (
        booking.holder_id == actor.sub
        or manages(actor, booking.partner_id)
        or serves(actor, booking.holder_community)
    )


def may_decide(actor: Actor, booking: Held, policy: Policy) -> bool:
    """Staff approve and reject; the resource's partner too where its policy allows."""
    if actor.is_staff:
        return True
    return manages(actor, booking.partner_id) and policy.partner_may_approve


def may_accept(actor: Actor, booking: Held) -> bool:
    """The holder takes up their own offer; staff may do it for them."""
    return booking.holder_id == actor.sub or actor.is_staff


def offer_lapsed(booking: Held, now: datetime) -> bool:
    return (
        booking.status == "offered"
        and booking.offer_expires_at is not None
        and now >= booking.offer_expires_at
    )


def cancel_deadline(booking: Held, policy: Policy) -> datetime:
    return booking.range.start - timedelta(minutes=policy.cancel_deadline_minutes)


def check_cancel(actor: Actor, booking: Held, policy: Policy, now: datetime) -> None:
    """The holder cancels a pending or confirmed booking until the policy's deadline, and a
    booking someone else made for them at any time (they never chose its deadline); those
    who manage the resource cancel at any time."""
    if manages(actor, booking.partner_id) or booking.status not in ("confirmed", "pending"):
        return
    made_for_holder = booking.created_by is not None and booking.created_by != booking.holder_id
    if actor.sub == booking.holder_id and made_for_holder:
        return
    deadline = cancel_deadline(booking, policy)
    if now > deadline:
        raise Refusal(
            kinds.CANCEL_DEADLINE,
            f"Cancel at least {policy.cancel_deadline_minutes} minutes before the start.",
            TimingFacts(
                rule="policy.cancel_deadline_minutes",
                limit=policy.cancel_deadline_minutes,
                deadline=deadline,
            ),
        )


def may_excuse(actor: Actor, booking: Held) -> bool:
    """Staff, or the resource's partner, excuse a no-show (illness, a closure the resident
    could not know of): it stops counting toward suspensions."""
    return booking.status == "no_show" and manages(actor, booking.partner_id)


def check_in_window(actor: Actor, booking: Held, policy: Policy) -> tuple[datetime, datetime]:
    """When ``actor`` may check ``booking`` in, both ends included: from
    ``check_in_opens_minutes`` before the start; the holder until ``check_in_closes_minutes``
    after it, those who manage the resource until its end."""
    opens = booking.range.start - timedelta(minutes=policy.check_in_opens_minutes)
    if manages(actor, booking.partner_id):
        return opens, booking.range.end
    return opens, booking.range.start + timedelta(minutes=policy.check_in_closes_minutes)


def check_check_in(actor: Actor, booking: Held, policy: Policy, now: datetime) -> None:
    """A confirmed booking is checked in inside its check-in window."""
    opens, closes = check_in_window(actor, booking, policy)
    if booking.status == "confirmed" and not opens <= now <= closes:
        raise Refusal(
            kinds.CHECK_IN_WINDOW,
            "Check-in is not open now.",
            TimingFacts(rule="policy.check_in_opens_minutes", opens_at=opens, closes_at=closes),
        )
