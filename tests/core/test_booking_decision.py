"""core.booking.decide: every booking rule in the order docs/bookings.md gives, over values.

One request that breaks no rule is the base; each case breaks exactly one rule and says which
refusal (code, status, rule and facts) it must get. A property then breaks any set of rules
at once and checks that the first one in the documented order is the one reported, with the
lottery and waitlist ways out of steps 7 (release) and 7 (capacity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.availability import Slot
from scheduler.core.booking import (
    BookingFacts,
    Decision,
    decide,
    initial_status,
    may_wait,
    needs_usage,
    screen,
)
from scheduler.core.people import PersonUsage
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal
from scheduler.core.rules import Booker, Request, Usage
from scheduler.core.timerange import TimeRange

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
START = NOW + timedelta(days=2, hours=10)  # 2 December, 10:00 UTC
HOUR = timedelta(hours=1)
DOCS = Path(__file__).parents[2] / "docs" / "bookings.md"
RESIDENT = Booker("resident-wang", "resident", community="shangnan-1")
# Quotas are set (2 a week, 240 minutes a day) so usage is counted; nothing else is limited.
BASE_POLICY = Policy(max_active_bookings_per_week=2, max_minutes_per_day=240)


def slot(start: datetime, **fields: Any) -> Slot:
    """An open hourly public slot of 10 places starting at ``start``."""
    values: dict[str, Any] = {
        "range": TimeRange(start, start + HOUR),
        "capacity": 10,
        "held": 0,
        "status": "open",
        "audience": ("public",),
        "window_ids": ("w1",),
    }
    values.update(fields)
    return Slot(**values)


def base_facts(**fields: Any) -> BookingFacts:
    """Two places from 10:00 to 12:00, the slot before it included as the service loads it."""
    values: dict[str, Any] = {
        "request": Request(TimeRange(START, START + 2 * HOUR), quantity=2),
        "policy": BASE_POLICY,
        "units": (),
        "booker": RESIDENT,
        "slots": (slot(START - HOUR), slot(START), slot(START + HOUR)),
        "now": NOW,
    }
    values.update(fields)
    return BookingFacts(**values)


def with_policy(facts: BookingFacts, **fields: Any) -> BookingFacts:
    return replace(facts, policy=msgspec.structs.replace(facts.policy, **fields))


def with_slot(facts: BookingFacts, start: datetime, **fields: Any) -> BookingFacts:
    """``facts`` with the slot starting at ``start`` (if there is one) changed."""
    slots = tuple(replace(s, **fields) if s.range.start == start else s for s in facts.slots)
    return replace(facts, slots=slots)


def refusal_of(facts: BookingFacts) -> Refusal:
    with pytest.raises(Refusal) as caught:
        decide(facts)
    return caught.value


def test_the_base_request_is_booked_and_confirmed() -> None:
    decision = decide(base_facts())
    assert decision == Decision("book", "confirmed", base_facts().slots[1:], None)
    assert decision.starts == [START, START + HOUR]


def test_staff_approval_makes_the_booking_pending() -> None:
    decision = decide(with_policy(base_facts(), approval="staff"))
    assert (decision.mode, decision.status) == ("book", "pending")


# --- Each rule on its own: its code, status, rule and facts --------------------------------
# (name, how to break the base, code, HTTP status, the refusal's facts as plain values)
Breaker = Callable[[BookingFacts], BookingFacts]
SINGLE_RULES: list[tuple[str, Breaker, str, int, dict[str, Any]]] = [
    (
        "whole minutes",
        lambda f: replace(
            f,
            request=replace(
                f.request, range=TimeRange(START, START + 2 * HOUR + timedelta(seconds=30))
            ),
        ),
        "invalid_duration",
        422,
        {"rule": "policy.granularity_minutes", "limit": 60},
    ),
    (
        "whole slots",
        lambda f: with_policy(f, granularity_minutes=45),
        "invalid_duration",
        422,
        {"rule": "policy.granularity_minutes", "limit": 45, "requested_minutes": 120},
    ),
    (
        "too short",
        lambda f: with_policy(f, min_duration_minutes=180),
        "invalid_duration",
        422,
        {"rule": "policy.min_duration_minutes", "limit": 180, "requested_minutes": 120},
    ),
    (
        "too long",
        lambda f: with_policy(f, max_duration_minutes=60),
        "invalid_duration",
        422,
        {"rule": "policy.max_duration_minutes", "limit": 60, "requested_minutes": 120},
    ),
    (
        "party too large",
        lambda f: with_policy(f, max_party_size=1),
        "invalid_quantity",
        422,
        {"rule": "policy.max_party_size", "limit": 1, "requested": 2},
    ),
    (
        "suspended",
        lambda f: replace(f, booker=replace(RESIDENT, suspended_until=NOW + timedelta(days=3))),
        "suspended",
        403,
        {"rule": "no_show_suspension", "suspended_until": NOW + timedelta(days=3)},
    ),
    (
        "not eligible",
        lambda f: with_policy(f, eligible_tags=["elderly", "disabled"]),
        "not_eligible",
        403,
        {"rule": "policy.eligible_tags", "required_tags": ["elderly", "disabled"]},
    ),
    (
        "lead time",
        lambda f: with_policy(f, min_lead_minutes=3 * 1440),
        "lead_time",
        409,
        {
            "rule": "policy.min_lead_minutes",
            "limit": 3 * 1440,
            "earliest_start": NOW + timedelta(days=3),
        },
    ),
    (
        "horizon",
        lambda f: with_policy(f, horizon_days=1),
        "horizon",
        409,
        {"rule": "policy.horizon_days", "limit": 1, "latest_start": NOW + timedelta(days=1)},
    ),
    (
        "slot boundaries",
        # the second hour's slot is 11:30-12:30: 12:00 cuts it
        lambda f: replace(f, slots=(*f.slots[:2], slot(START + 1.5 * HOUR))),
        "invalid_duration",
        422,
        {
            "rule": "slot_boundaries",
            "nearest_slot_start": START + 1.5 * HOUR,
            "nearest_slot_end": START + 2.5 * HOUR,
        },
    ),
    (
        "outside every window",
        lambda f: replace(f, slots=tuple(s for s in f.slots if s.range.start != START + HOUR)),
        "outside_window",
        409,
        {"rule": "windows", "open_until": START + HOUR},
    ),
    (
        "closed",
        lambda f: with_slot(f, START + HOUR, status="closed", closure_reason="Exams"),
        "closed",
        409,
        {"rule": "closure", "reason": "Exams", "closed_from": START + HOUR},
    ),
    (
        "not released",
        lambda f: with_slot(f, START, status="not_released", releases_at=NOW + timedelta(hours=9)),
        "not_released",
        409,
        {"rule": "policy.release", "releases_at": NOW + timedelta(hours=9)},
    ),
    (
        "audience",
        lambda f: with_slot(
            f, START + HOUR, audience=("community:shangnan-2",), window_ids=("w2",)
        ),
        "outside_window",
        409,
        {"rule": "window.audience", "window_ids": ["w2"], "audience": ["community:shangnan-2"]},
    ),
    (
        "capacity",
        lambda f: with_slot(f, START + HOUR, held=9),
        "capacity",
        409,
        {
            "rule": "capacity",
            "requested": 2,
            "full_slots": [
                {"starts_at": START + HOUR, "ends_at": START + 2 * HOUR, "available": 1}
            ],
        },
    ),
    (
        "bookings per week",
        lambda f: replace(f, usage=replace(f.usage, active_in_week=2)),
        "quota_exceeded",
        409,
        {"rule": "policy.max_active_bookings_per_week", "limit": 2, "current": 2},
    ),
    (
        "minutes per day",
        lambda f: replace(f, usage=replace(f.usage, minutes_in_day=180)),
        "quota_exceeded",
        409,
        {
            "rule": "policy.max_minutes_per_day",
            "limit": 240,
            "current": 180,
            "requested_minutes": 120,
        },
    ),
]


@pytest.mark.parametrize(
    ("breaker", "code", "status", "facts"),
    [case[1:] for case in SINGLE_RULES],
    ids=[case[0] for case in SINGLE_RULES],
)
def test_each_rule_refuses_with_its_code_and_facts(
    breaker: Breaker, code: str, status: int, facts: dict[str, Any]
) -> None:
    refusal = refusal_of(breaker(base_facts()))
    assert (refusal.code, refusal.status) == (code, status)
    assert refusal.fact_values() == facts


@pytest.mark.parametrize(
    ("code", "status", "facts"),
    [case[2:] for case in SINGLE_RULES],
    ids=[case[0] for case in SINGLE_RULES],
)
def test_the_refusal_table_of_the_docs_lists_each_refusal_with_its_members(
    code: str, status: int, facts: dict[str, Any]
) -> None:
    """A row of docs/bookings.md's refusal table has the code, status and rule, and names
    every member the refusal carries."""
    rows = [
        cells
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if len(cells := [cell.strip() for cell in line.split("|")[1:-1]]) == 5
        and f"`{code}`" in cells[0]
        and cells[1] == str(status)
        and cells[3] == f"`{facts['rule']}`"
    ]
    assert rows, "no row for this refusal"
    members = set(facts) - {"rule"}
    assert any(all(f"`{member}`" in row[4] for member in members) for row in rows)


# --- Units ---------------------------------------------------------------------------------
UNITS = ("Court 1", "Court 2")


def test_a_unit_resource_takes_exactly_one_unit_before_the_unit_name_is_checked() -> None:
    facts = base_facts(units=UNITS)
    refusal = refusal_of(replace(facts, request=replace(facts.request, unit="Court 9")))
    assert (refusal.code, refusal.fact_values()) == (
        "invalid_quantity",
        {"rule": "units", "limit": 1, "requested": 2},
    )
    one = replace(facts.request, quantity=1, unit="Court 9")
    refusal = refusal_of(replace(facts, request=one))
    assert (refusal.code, refusal.status, refusal.fact_values()) == (
        "invalid_unit",
        422,
        {"rule": "units"},
    )
    decision = decide(replace(facts, request=replace(one, unit="Court 2")))
    assert decision.mode == "book"


def test_the_party_size_does_not_apply_to_unit_resources() -> None:
    facts = with_policy(base_facts(units=UNITS), max_party_size=1)
    request = replace(facts.request, quantity=1)
    assert decide(replace(facts, request=request)).mode == "book"


# --- Boundaries ----------------------------------------------------------------------------
def at(start: datetime, hours: int = 1, **fields: Any) -> BookingFacts:
    """A one-place request of ``hours`` from ``start``, with open slots around it."""
    slots = tuple(slot(start + k * HOUR) for k in range(-1, hours))
    return base_facts(
        request=Request(TimeRange(start, start + hours * HOUR)), slots=slots, **fields
    )


def test_lead_time_admits_exactly_the_earliest_start() -> None:
    policy = msgspec.structs.replace(BASE_POLICY, min_lead_minutes=90)
    earliest = NOW + timedelta(minutes=90)
    assert decide(at(earliest, policy=policy)).mode == "book"
    refusal = refusal_of(at(earliest - timedelta(minutes=1), policy=policy))
    assert refusal.code == "lead_time"
    assert refusal.fact_values()["earliest_start"] == earliest


def test_without_lead_time_a_slot_starting_now_is_bookable_and_one_started_is_not() -> None:
    assert decide(at(NOW)).mode == "book"
    refusal = refusal_of(at(NOW - timedelta(minutes=1)))
    assert refusal.code == "lead_time"
    assert refusal.detail == "This time has already started."


def test_horizon_admits_exactly_the_latest_start() -> None:
    latest = NOW + timedelta(days=BASE_POLICY.horizon_days)
    assert decide(at(latest)).mode == "book"
    refusal = refusal_of(at(latest + timedelta(minutes=1)))
    assert (refusal.code, refusal.fact_values()["latest_start"]) == ("horizon", latest)


def test_a_suspension_ends_at_its_instant() -> None:
    ends = NOW
    assert decide(base_facts(booker=replace(RESIDENT, suspended_until=ends))).mode == "book"
    later = replace(RESIDENT, suspended_until=NOW + timedelta(microseconds=1))
    assert refusal_of(base_facts(booker=later)).code == "suspended"


def test_one_matching_tag_is_enough() -> None:
    facts = with_policy(base_facts(), eligible_tags=["elderly", "disabled"])
    tagged = replace(RESIDENT, tags=("volunteer", "disabled"))
    assert decide(replace(facts, booker=tagged)).mode == "book"


@pytest.mark.parametrize(
    ("minutes", "refused"),
    [(60, False), (120, False), (240, False), (300, True)],
)
def test_duration_bounds_are_inclusive(minutes: int, refused: bool) -> None:
    policy = msgspec.structs.replace(BASE_POLICY, min_duration_minutes=60, max_duration_minutes=240)
    facts = at(START, hours=minutes // 60, policy=policy, usage=Usage())
    if refused:
        assert refusal_of(facts).fact_values()["rule"] == "policy.max_duration_minutes"
    else:
        assert decide(facts).mode == "book"


@pytest.mark.parametrize(("quantity", "refused"), [(4, False), (5, True)])
def test_party_size_at_and_over_the_limit(quantity: int, refused: bool) -> None:
    facts = base_facts()
    facts = replace(facts, request=replace(facts.request, quantity=quantity))
    if refused:
        assert refusal_of(facts).code == "invalid_quantity"
    else:
        assert decide(facts).mode == "book"


@pytest.mark.parametrize(("held", "refused"), [(8, False), (9, True)])
def test_capacity_needs_the_whole_quantity_in_every_slot(held: int, refused: bool) -> None:
    facts = with_slot(base_facts(), START, held=held)  # 2 places wanted, 10 - held available
    if refused:
        refusal = refusal_of(facts)
        assert refusal.code == "capacity"
        assert refusal.fact_values()["full_slots"] == [
            {"starts_at": START, "ends_at": START + HOUR, "available": 1}
        ]
    else:
        assert decide(facts).mode == "book"


@pytest.mark.parametrize(
    ("active", "refused"), [(0, False), (1, False), (2, True), (5, True)], ids=str
)
def test_weekly_quota_at_limit_minus_one_and_at_the_limit(active: int, refused: bool) -> None:
    facts = base_facts(usage=Usage(active_in_week=active))  # limit 2
    if refused:
        refusal = refusal_of(facts)
        assert refusal.fact_values() == {
            "rule": "policy.max_active_bookings_per_week",
            "limit": 2,
            "current": active,
        }
    else:
        assert decide(facts).mode == "book"


@pytest.mark.parametrize(("minutes", "refused"), [(119, False), (120, False), (121, True)])
def test_daily_quota_counts_the_new_booking_up_to_the_limit(minutes: int, refused: bool) -> None:
    facts = base_facts(usage=Usage(minutes_in_day=minutes))  # 120 new + minutes vs 240
    if refused:
        assert refusal_of(facts).fact_values()["current"] == minutes
    else:
        assert decide(facts).mode == "book"


def test_without_quotas_usage_is_not_counted() -> None:
    policy = Policy()
    assert not needs_usage(policy)
    assert needs_usage(msgspec.structs.replace(policy, max_minutes_per_day=60))
    assert needs_usage(msgspec.structs.replace(policy, max_active_bookings_per_week=1))
    facts = base_facts(policy=policy, usage=Usage(active_in_week=999, minutes_in_day=9999))
    assert decide(facts).mode == "book"


# --- Lottery entries and waitlist places ---------------------------------------------------
LOTTERY = msgspec.structs.replace(BASE_POLICY, allocation="lottery")
RELEASES = NOW + timedelta(hours=9)


def unreleased(facts: BookingFacts, releases: datetime = RELEASES) -> BookingFacts:
    facts = with_slot(facts, START, status="not_released", releases_at=releases)
    return with_slot(facts, START + HOUR, status="not_released", releases_at=releases)


def test_before_a_lottery_release_the_request_becomes_an_entry_drawn_at_release() -> None:
    decision = decide(unreleased(base_facts(policy=LOTTERY)))
    assert (decision.mode, decision.status, decision.draw_at) == ("enter", "entered", RELEASES)


def test_an_entry_is_drawn_at_the_general_release_whatever_the_head_start() -> None:
    """Slots seen with a head start release earlier; the draw is still at the general time."""
    head_start = timedelta(hours=2)
    facts = unreleased(base_facts(policy=LOTTERY, head_start=head_start), RELEASES - head_start)
    facts = with_slot(
        facts, START + HOUR, releases_at=RELEASES
    )  # a later slot does not move the draw
    assert decide(facts).draw_at == RELEASES


def test_an_entry_ignores_capacity_but_not_the_audience_or_a_closure() -> None:
    facts = unreleased(base_facts(policy=LOTTERY))
    full = with_slot(facts, START, held=10)
    assert decide(full).mode == "enter"
    other = with_slot(facts, START + HOUR, audience=("community:shangnan-2",))
    assert refusal_of(other).fact_values()["rule"] == "window.audience"
    closed = with_slot(facts, START + HOUR, status="closed")
    assert refusal_of(closed).code == "closed"


def test_an_entry_with_staff_approval_is_still_entered() -> None:
    policy = msgspec.structs.replace(LOTTERY, approval="staff")
    assert initial_status("enter", policy) == "entered"
    assert decide(unreleased(base_facts(policy=policy))).status == "entered"


def test_an_fcfs_resource_refuses_before_release_even_with_waitlist() -> None:
    facts = unreleased(base_facts(wants_waitlist=True))
    assert refusal_of(facts).code == "not_released"


def test_a_full_time_gives_a_waitlist_place_only_when_asked() -> None:
    full = with_slot(base_facts(), START + HOUR, held=10)
    assert refusal_of(full).code == "capacity"
    decision = decide(replace(full, wants_waitlist=True))
    assert (decision.mode, decision.status, decision.draw_at) == ("waitlist", "waitlisted", None)
    assert decision.covering == full.slots[1:]


def test_a_waitlist_request_for_a_free_time_is_simply_booked() -> None:
    assert decide(base_facts(wants_waitlist=True)).mode == "book"


def test_a_waitlist_place_counts_as_the_persons_one_booking_for_that_time() -> None:
    waiting = base_facts(wants_waitlist=True, person=PersonUsage(waiting=1))
    refusal = refusal_of(waiting)
    assert (refusal.code, refusal.fact_values()) == (
        "person_limit",
        {"rule": "policy.max_bookings_per_person_per_slot", "limit": 1, "current": 1},
    )
    two = msgspec.structs.replace(BASE_POLICY, max_bookings_per_person_per_slot=2)
    assert decide(replace(waiting, policy=two)).mode == "book"


def test_one_entry_or_waitlist_place_per_person_and_time_after_the_quota() -> None:
    full = with_slot(
        base_facts(wants_waitlist=True, person=PersonUsage(waiting=1)), START + HOUR, held=10
    )
    refusal = refusal_of(full)
    assert (refusal.code, refusal.status, refusal.fact_values()) == (
        "duplicate_entry",
        409,
        {"rule": "one_entry_per_slot"},
    )
    over_quota = replace(full, usage=Usage(active_in_week=2))
    assert refusal_of(over_quota).code == "quota_exceeded"
    entry = unreleased(base_facts(policy=LOTTERY, person=PersonUsage(waiting=1)))
    assert refusal_of(entry).code == "duplicate_entry"


def test_may_wait() -> None:
    assert may_wait(LOTTERY, wants_waitlist=False)
    assert may_wait(BASE_POLICY, wants_waitlist=True)
    assert not may_wait(BASE_POLICY, wants_waitlist=False)


# --- The documented order, for any set of broken rules -------------------------------------
# Each entry breaks one rule of the base without mending or breaking any other; the list is
# the order of docs/bookings.md ("The order of the rules", steps 3 to 8b).
ORDER: list[tuple[str, Breaker, tuple[str, str]]] = [
    (name, breaker, (code, facts["rule"])) for name, breaker, code, _, facts in SINGLE_RULES
]
ORDER.append(
    (
        "duplicate entry",
        lambda f: replace(f, person=PersonUsage(waiting=1)),
        ("duplicate_entry", "one_entry_per_slot"),
    )
)
NAMES = [name for name, _, _ in ORDER]


def expected_outcome(broken: set[str], lottery: bool, waitlist: bool) -> tuple[str, str]:
    """What the docs say the request becomes: ("refused", code/rule) or ("mode", mode)."""
    mode = "book"
    for name, _, (code, rule) in ORDER:
        if name not in broken:
            continue
        if name == "not released" and lottery:
            mode = "enter"  # an entry instead of not_released ...
        elif name == "capacity" and mode == "enter":
            pass  # ... which takes no capacity
        elif name == "capacity" and waitlist:
            mode = "waitlist"
        elif name == "duplicate entry" and mode == "book":
            # a booking is not a second entry, but the waitlist place is the person's one
            # booking for that time (policy.max_bookings_per_person_per_slot = 1)
            return ("refused", "person_limit/policy.max_bookings_per_person_per_slot")
        else:
            return ("refused", f"{code}/{rule}")
    return ("mode", mode)


@settings(max_examples=300, deadline=None)
@given(
    broken=st.sets(st.sampled_from(NAMES)),
    lottery=st.booleans(),
    waitlist=st.booleans(),
)
def test_the_first_broken_rule_in_documented_order_decides(
    broken: set[str], lottery: bool, waitlist: bool
) -> None:
    facts = base_facts(
        policy=LOTTERY if lottery else BASE_POLICY,
        wants_waitlist=waitlist,
    )
    for name, breaker, _ in ORDER:
        if name in broken:
            facts = breaker(facts)
    expected = expected_outcome(broken, lottery, waitlist)
    try:
        decision = decide(facts)
    except Refusal as refusal:
        assert ("refused", f"{refusal.code}/{refusal.facts.rule}") == expected
    else:
        assert ("mode", decision.mode) == expected
        assert decision.status == initial_status(decision.mode, facts.policy)


SCREENED = NAMES[: NAMES.index("horizon") + 1]  # steps 3 to 5


@settings(max_examples=150, deadline=None)
@given(broken=st.sets(st.sampled_from(NAMES)), lottery=st.booleans())
def test_screen_refuses_exactly_what_decide_refuses_in_steps_3_to_5(
    broken: set[str], lottery: bool
) -> None:
    """``screen`` (run before loading anything) is ``decide``'s prefix: the same refusal when
    a rule of steps 3 to 5 is broken, nothing otherwise."""
    facts = base_facts(policy=LOTTERY if lottery else BASE_POLICY)
    for name, breaker, _ in ORDER:
        if name in broken:
            facts = breaker(facts)
    try:
        screen(facts.request, facts.policy, facts.units, facts.booker, facts.now)
    except Refusal as screened:
        assert broken & set(SCREENED)
        with pytest.raises(Refusal) as decided:
            decide(facts)
        assert (decided.value.kind, decided.value.facts) == (screened.kind, screened.facts)
    else:
        assert not broken & set(SCREENED)
