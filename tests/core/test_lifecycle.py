"""core.lifecycle: the state machine, and who may see, decide, accept, cancel and check in
a booking when (docs/bookings.md, "Lifecycle", "Approval", "Cancelling", "Checking in")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.auth.tokens import Principal
from scheduler.core.lifecycle import (
    ACTIVE,
    STATUSES,
    TRANSITIONS,
    Held,
    ImpossibleTransition,
    cancel_deadline,
    check_cancel,
    check_check_in,
    check_in_window,
    manages,
    may_accept,
    may_decide,
    may_see,
    next_status,
    offer_lapsed,
    releases_capacity,
)
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal
from scheduler.core.timerange import TimeRange

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
END = START + timedelta(hours=1)
MINUTE = timedelta(minutes=1)
POLICY = Policy()  # cancel 60 minutes before; check-in from 30 before to 15 after

HOLDER = Principal(sub="resident-wang", role="resident")
NEIGHBOUR = Principal(sub="resident-li", role="resident")
PARTNER = Principal(sub="gate-1", role="partner", partner="shangnan-middle")
OTHER_PARTNER = Principal(sub="gate-9", role="partner", partner="sanlin-sports")
STAFF = Principal(sub="staff-li", role="staff")
ADMIN = Principal(sub="admin", role="admin")
# A resident whose token happens to name a partner still does not manage its resources.
RESIDENT_WITH_PARTNER = Principal(sub="resident-zhao", role="resident", partner="shangnan-middle")


def booking(status: str = "confirmed", **fields: object) -> Held:
    values: dict[str, object] = {
        "holder_id": HOLDER.sub,
        "partner_id": "shangnan-middle",
        "status": status,
        "range": TimeRange(START, END),
    }
    values.update(fields)
    return Held(**values)  # type: ignore[arg-type]


# --- The state machine ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("approve", "pending", "confirmed"),
        ("reject", "pending", "rejected"),
        ("cancel", "pending", "cancelled"),
        ("cancel", "confirmed", "cancelled"),
        ("cancel", "entered", "cancelled"),
        ("cancel", "waitlisted", "cancelled"),
        ("cancel", "offered", "cancelled"),
        ("check_in", "confirmed", "checked_in"),
        ("complete", "confirmed", "completed"),
        ("complete", "checked_in", "completed"),
        ("no_show", "confirmed", "no_show"),
        ("expire", "pending", "expired"),
        ("expire", "confirmed", "expired"),
        ("accept", "offered", "confirmed"),
        ("accept_for_approval", "offered", "pending"),
        ("lapse", "offered", "lapsed"),
        ("win", "entered", "confirmed"),
        ("win_for_approval", "entered", "pending"),
        ("lose", "entered", "not_selected"),
        ("offer", "waitlisted", "offered"),
    ],
)
def test_every_transition(action: str, before: str, after: str) -> None:
    assert next_status(action, before) == after  # type: ignore[arg-type]


def test_the_table_above_is_the_whole_state_machine() -> None:
    pairs = {(a, b) for a, moves in TRANSITIONS.items() for b in moves}
    assert len(pairs) == 20
    assert {s for moves in TRANSITIONS.values() for pair in moves.items() for s in pair} <= set(
        STATUSES
    )


@given(action=st.sampled_from(sorted(TRANSITIONS)), status=st.sampled_from(STATUSES))
def test_an_impossible_transition_names_the_statuses_it_is_possible_from(
    action: str, status: str
) -> None:
    allowed = sorted(TRANSITIONS[action])
    if status in allowed:
        assert next_status(action, status) == TRANSITIONS[action][status]  # type: ignore[arg-type]
        return
    with pytest.raises(ImpossibleTransition) as caught:
        next_status(action, status)  # type: ignore[arg-type]
    assert (caught.value.action, caught.value.status, caught.value.allowed) == (
        action,
        status,
        allowed,
    )
    assert str(caught.value).startswith(f"Cannot {action.replace('_', ' ')} a {status} booking")


def test_the_impossible_transition_message_of_the_docs() -> None:
    with pytest.raises(
        ImpossibleTransition, match=r"^Cannot approve a confirmed booking \(only pending\)\.$"
    ):
        next_status("approve", "confirmed")


@pytest.mark.parametrize(
    "final", ["rejected", "cancelled", "completed", "no_show", "expired", "not_selected", "lapsed"]
)
def test_final_statuses_have_no_way_out(final: str) -> None:
    assert all(final not in moves for moves in TRANSITIONS.values())


def test_the_statuses_that_hold_capacity() -> None:
    assert {"pending", "confirmed", "checked_in", "offered"} == ACTIVE


@given(action=st.sampled_from(sorted(TRANSITIONS)), data=st.data())
def test_capacity_is_given_back_exactly_when_a_booking_stops_holding(
    action: str, data: st.DataObject
) -> None:
    before = data.draw(st.sampled_from(sorted(TRANSITIONS[action])))
    after = TRANSITIONS[action][before]
    assert releases_capacity(before, after) == (before in ACTIVE and after not in ACTIVE)


@pytest.mark.parametrize(
    ("before", "after", "gives_back"),
    [
        ("confirmed", "cancelled", True),
        ("pending", "rejected", True),
        ("offered", "lapsed", True),
        ("confirmed", "checked_in", False),  # still holding until it completes
        ("checked_in", "completed", True),
        ("pending", "confirmed", False),  # approving takes no new capacity
        ("entered", "confirmed", False),  # a winner takes capacity through the ledger
        ("waitlisted", "cancelled", False),  # a waitlist place held nothing
    ],
)
def test_releases_capacity(before: str, after: str, gives_back: bool) -> None:
    assert releases_capacity(before, after) is gives_back


# --- Who manages, sees, decides and accepts ------------------------------------------------
ACTORS = {
    "holder": HOLDER,
    "neighbour": NEIGHBOUR,
    "partner": PARTNER,
    "other partner": OTHER_PARTNER,
    "staff": STAFF,
    "admin": ADMIN,
    "resident naming the partner": RESIDENT_WITH_PARTNER,
}
# actor: (manages, may see, may decide, may decide when partner_may_approve is false, may accept)
PERMISSIONS = {
    "holder": (False, True, False, False, True),
    "neighbour": (False, False, False, False, False),
    "partner": (True, True, True, False, False),
    "other partner": (False, False, False, False, False),
    "staff": (True, True, True, True, True),
    "admin": (True, True, True, True, True),
    "resident naming the partner": (False, False, False, False, False),
}


@pytest.mark.parametrize("name", list(ACTORS))
def test_permissions(name: str) -> None:
    actor, held = ACTORS[name], booking("pending")
    closed = msgspec.structs.replace(POLICY, partner_may_approve=False)
    assert (
        manages(actor, held.partner_id),
        may_see(actor, held),
        may_decide(actor, held, POLICY),
        may_decide(actor, held, closed),
        may_accept(actor, held),
    ) == PERMISSIONS[name]


def test_a_partner_holding_a_booking_on_its_own_resource_may_decide_it() -> None:
    """Deciding is the partner's right, not the holder's: a partner employee who holds the
    booking decides it as the partner, and loses that with partner_may_approve off."""
    held = booking("pending", holder_id=PARTNER.sub)
    assert may_decide(PARTNER, held, POLICY)
    assert not may_decide(PARTNER, held, msgspec.structs.replace(POLICY, partner_may_approve=False))


# --- Offers --------------------------------------------------------------------------------
EXPIRES = START - timedelta(hours=2)


@pytest.mark.parametrize(
    ("status", "expires", "now", "lapsed"),
    [
        ("offered", EXPIRES, EXPIRES - MINUTE, False),
        ("offered", EXPIRES, EXPIRES, True),
        ("offered", EXPIRES, EXPIRES + MINUTE, True),
        ("offered", None, EXPIRES + timedelta(days=9), False),
        ("confirmed", EXPIRES, EXPIRES + MINUTE, False),
    ],
)
def test_an_offer_lapses_at_its_expiry(
    status: str, expires: datetime | None, now: datetime, lapsed: bool
) -> None:
    assert offer_lapsed(booking(status, offer_expires_at=expires), now) is lapsed


# --- Cancelling ----------------------------------------------------------------------------
DEADLINE = START - timedelta(minutes=60)


def test_the_cancel_deadline_is_the_policy_minutes_before_the_start() -> None:
    assert cancel_deadline(booking(), POLICY) == DEADLINE
    zero = msgspec.structs.replace(POLICY, cancel_deadline_minutes=0)
    assert cancel_deadline(booking(), zero) == START


@pytest.mark.parametrize("status", ["confirmed", "pending"])
def test_the_holder_cancels_until_the_deadline_minute_itself(status: str) -> None:
    check_cancel(HOLDER, booking(status), POLICY, DEADLINE - MINUTE)
    check_cancel(HOLDER, booking(status), POLICY, DEADLINE)
    with pytest.raises(Refusal) as caught:
        check_cancel(HOLDER, booking(status), POLICY, DEADLINE + timedelta(microseconds=1))
    refusal = caught.value
    assert (refusal.code, refusal.status) == ("cancel_deadline", 409)
    assert refusal.fact_values() == {
        "rule": "policy.cancel_deadline_minutes",
        "limit": 60,
        "deadline": DEADLINE,
    }
    assert refusal.detail == "Cancel at least 60 minutes before the start."


@pytest.mark.parametrize("actor", [PARTNER, STAFF, ADMIN], ids=["partner", "staff", "admin"])
def test_those_who_manage_the_resource_cancel_at_any_time(actor: Principal) -> None:
    check_cancel(actor, booking(), POLICY, END + timedelta(days=1))


def test_another_partner_is_held_to_the_deadline() -> None:
    """check_cancel only answers "when"; seeing the booking at all is may_see's question."""
    with pytest.raises(Refusal):
        check_cancel(OTHER_PARTNER, booking(), POLICY, DEADLINE + MINUTE)


@pytest.mark.parametrize("status", ["entered", "waitlisted", "offered"])
def test_entries_and_offers_have_no_cancel_deadline(status: str) -> None:
    check_cancel(HOLDER, booking(status), POLICY, START - MINUTE)


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "completed"])
def test_no_deadline_refusal_where_the_transition_itself_is_impossible(status: str) -> None:
    """These statuses cannot be cancelled at all: the answer is invalid_transition, which
    the state machine gives, so the deadline rule stays silent."""
    check_cancel(HOLDER, booking(status), POLICY, END)
    with pytest.raises(ImpossibleTransition):
        next_status("cancel", status)


# --- Checking in ---------------------------------------------------------------------------
OPENS = START - timedelta(minutes=30)
HOLDER_CLOSES = START + timedelta(minutes=15)


def test_the_check_in_window_of_the_docs_example() -> None:
    """18:00-19:00 with the defaults: a resident from 17:30 to 18:15, the gate until 19:00."""
    assert check_in_window(HOLDER, booking(), POLICY) == (OPENS, HOLDER_CLOSES)
    assert check_in_window(PARTNER, booking(), POLICY) == (OPENS, END)
    assert check_in_window(STAFF, booking(), POLICY) == (OPENS, END)
    assert check_in_window(OTHER_PARTNER, booking(), POLICY) == (OPENS, HOLDER_CLOSES)


@pytest.mark.parametrize(
    ("actor", "now", "open_now"),
    [
        (HOLDER, OPENS - MINUTE, False),
        (HOLDER, OPENS, True),
        (HOLDER, START, True),
        (HOLDER, HOLDER_CLOSES, True),
        (HOLDER, HOLDER_CLOSES + MINUTE, False),
        (PARTNER, OPENS - MINUTE, False),
        (PARTNER, OPENS, True),
        (PARTNER, HOLDER_CLOSES + MINUTE, True),
        (PARTNER, END, True),
        (PARTNER, END + MINUTE, False),
        (STAFF, END, True),
        (STAFF, END + MINUTE, False),
    ],
)
def test_check_in_window_edges_are_included(
    actor: Principal, now: datetime, open_now: bool
) -> None:
    if open_now:
        check_check_in(actor, booking(), POLICY, now)
        return
    with pytest.raises(Refusal) as caught:
        check_check_in(actor, booking(), POLICY, now)
    opens, closes = check_in_window(actor, booking(), POLICY)
    assert (caught.value.code, caught.value.status) == ("check_in_window", 409)
    assert caught.value.fact_values() == {
        "rule": "policy.check_in_opens_minutes",
        "opens_at": opens,
        "closes_at": closes,
    }


def test_the_check_in_window_follows_the_policy() -> None:
    policy = msgspec.structs.replace(POLICY, check_in_opens_minutes=0, check_in_closes_minutes=0)
    assert check_in_window(HOLDER, booking(), policy) == (START, START)
    check_check_in(HOLDER, booking(), policy, START)
    with pytest.raises(Refusal):
        check_check_in(HOLDER, booking(), policy, START - timedelta(microseconds=1))


@pytest.mark.parametrize("status", ["pending", "checked_in", "cancelled"])
def test_only_confirmed_bookings_are_held_to_the_window(status: str) -> None:
    """Other statuses cannot be checked in at all (invalid_transition), whenever it is."""
    check_check_in(HOLDER, booking(status), POLICY, END + timedelta(days=1))
    with pytest.raises(ImpossibleTransition):
        next_status("check_in", status)
