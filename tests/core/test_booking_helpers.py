"""The booking decision's helpers: audiences, covering slots, unit choice, the ledger's last
word, and the alternatives suggested with a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core import refusals as kinds
from scheduler.core.availability import Slot
from scheduler.core.booking import (
    Decision,
    alternatives,
    alternatives_span,
    choose_unit,
    on_ledger_full,
)
from scheduler.core.policy import Policy
from scheduler.core.refusals import Alternative, QuotaFacts, Refusal, TimingFacts
from scheduler.core.rules import Booker, Request, admits, covering_slots, suggest_alternatives
from scheduler.core.timerange import TimeRange

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
DAY = NOW + timedelta(days=1)
HOUR = timedelta(hours=1)
RESIDENT = Booker("resident-wang", "resident", community="shangnan-1")


def slot(hour: float, **fields: Any) -> Slot:
    start = DAY + hour * HOUR
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


def request(start: float, end: float, **fields: Any) -> Request:
    return Request(TimeRange(DAY + start * HOUR, DAY + end * HOUR), **fields)


def refused(call: Any, *args: Any) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args)
    return caught.value


# --- Audiences -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("audience", "role", "community", "admitted"),
    [
        (("public",), "partner", None, True),
        (("visitors",), "resident", None, False),
        (("visitors",), "partner", None, True),
        (("visitors",), "staff", None, True),
        (("visitors", "residents"), "resident", None, True),
        (("residents",), "resident", None, True),
        (("residents",), "staff", None, True),
        (("residents",), "admin", None, True),
        (("residents",), "partner", None, False),
        (("residents",), "visitor", None, False),
        (("community:shangnan-1",), "resident", "shangnan-1", True),
        (("community:shangnan-1",), "resident", "shangnan-2", False),
        (("community:shangnan-1",), "resident", None, False),
        (("community:shangnan-1",), "staff", None, False),
        (("community:shangnan-2", "residents"), "resident", "shangnan-1", True),
        ((), "admin", None, False),
    ],
)
def test_who_an_audience_admits(
    audience: tuple[str, ...], role: str, community: str | None, admitted: bool
) -> None:
    assert admits(audience, Booker("someone", role, community)) is admitted


def test_visitors_admit_a_resident_tagged_as_a_visitor() -> None:
    assert admits(("visitors",), Booker("guest", "resident", None, ("visitor",)))


# --- Covering slots ------------------------------------------------------------------------
def test_covering_slots_are_the_contiguous_slots_of_the_request() -> None:
    slots = [slot(9), slot(10), slot(11), slot(12)]
    assert covering_slots(request(10, 12), slots) == slots[1:3]


def test_a_gap_inside_the_request_says_where_the_open_part_ends() -> None:
    refusal = refused(covering_slots, request(10, 13), [slot(9), slot(10), slot(12)])
    assert (refusal.code, refusal.fact_values()) == (
        "outside_window",
        {"rule": "windows", "open_until": DAY + 11 * HOUR},
    )


def test_a_request_starting_in_a_gap_has_no_open_part() -> None:
    refusal = refused(covering_slots, request(10, 12), [slot(9), slot(11)])
    assert refusal.fact_values() == {"rule": "windows"}
    refusal = refused(covering_slots, request(10, 12), [])
    assert refusal.fact_values() == {"rule": "windows"}


def test_a_request_ending_inside_a_slot_is_misaligned_not_outside() -> None:
    refusal = refused(covering_slots, request(10, 11.5), [slot(10), slot(11)])
    assert (refusal.code, refusal.status) == ("invalid_duration", 422)
    assert refusal.fact_values() == {
        "rule": "slot_boundaries",
        "nearest_slot_start": DAY + 11 * HOUR,
        "nearest_slot_end": DAY + 12 * HOUR,
    }


def test_a_request_starting_inside_a_slot_names_that_slot() -> None:
    refusal = refused(covering_slots, request(9.5, 11.5), [slot(9), slot(10), slot(11)])
    assert refusal.fact_values()["nearest_slot_start"] == DAY + 9 * HOUR


@settings(max_examples=200, deadline=None)
@given(
    open_hours=st.sets(st.integers(0, 12)),
    start=st.integers(0, 11),
    length=st.integers(1, 4),
)
def test_covering_slots_succeed_exactly_when_every_hour_is_open(
    open_hours: set[int], start: int, length: int
) -> None:
    slots = [slot(hour) for hour in sorted(open_hours)]
    wanted = set(range(start, start + length))
    try:
        covering = covering_slots(request(start, start + length), slots)
    except Refusal as refusal:
        assert not wanted <= open_hours
        assert refusal.code == "outside_window"
    else:
        assert wanted <= open_hours
        assert [s.range.start for s in covering] == [DAY + h * HOUR for h in sorted(wanted)]


# --- Units ---------------------------------------------------------------------------------
UNITS = ("Court 1", "Court 2", "Court 3")


@pytest.mark.parametrize(
    ("preferred", "exact", "taken", "chosen"),
    [
        (None, False, set(), "Court 1"),
        (None, False, {"Court 1"}, "Court 2"),
        ("Court 3", False, set(), "Court 3"),
        ("Court 3", True, {"Court 1"}, "Court 3"),
        ("Court 1", False, {"Court 1"}, "Court 2"),
        ("Court 1", False, {"Court 1", "Court 2"}, "Court 3"),
    ],
)
def test_the_preferred_unit_if_free_else_the_first_free_in_order(
    preferred: str | None, exact: bool, taken: set[str], chosen: str
) -> None:
    wanted = request(10, 11, unit=preferred, unit_exact=exact)
    assert choose_unit(UNITS, wanted, taken) == chosen


def test_an_exact_unit_that_is_taken_is_refused_with_the_free_ones() -> None:
    wanted = request(10, 11, unit="Court 1", unit_exact=True)
    refusal = refused(choose_unit, UNITS, wanted, {"Court 1", "Court 3"})
    assert (refusal.code, refusal.status) == ("unit_taken", 409)
    assert refusal.fact_values() == {"rule": "units", "unit": "Court 1", "free_units": ["Court 2"]}


def test_the_free_units_listed_are_at_most_twenty() -> None:
    units = tuple(f"B1-{n:03}" for n in range(30))
    wanted = request(10, 11, unit="B1-000", unit_exact=True)
    refusal = refused(choose_unit, units, wanted, {"B1-000"})
    assert refusal.fact_values()["free_units"] == list(units[1:21])


@pytest.mark.parametrize("preferred", [None, "Court 2"])
def test_no_free_unit_is_a_capacity_refusal(preferred: str | None) -> None:
    refusal = refused(choose_unit, UNITS, request(10, 11, unit=preferred), set(UNITS))
    assert (refusal.code, refusal.fact_values()) == ("capacity", {"rule": "units"})


# --- The ledger's last word ----------------------------------------------------------------
DECIDED = Decision("book", "confirmed", (slot(10), slot(11)))


def test_a_slot_the_ledger_finds_full_makes_a_waitlist_place_when_asked() -> None:
    after = on_ledger_full(DECIDED, request(10, 12), [DAY + 11 * HOUR], wants_waitlist=True)
    assert after == Decision("waitlist", "waitlisted", DECIDED.covering)


def test_a_slot_the_ledger_finds_full_is_otherwise_a_capacity_refusal_naming_it() -> None:
    full = [DAY + 11 * HOUR]
    refusal = refused(on_ledger_full, DECIDED, request(10, 12, quantity=3), full, False)
    assert (refusal.code, refusal.status) == ("capacity", 409)
    assert refusal.fact_values() == {
        "rule": "capacity",
        "requested": 3,
        "full_slots": [{"starts_at": DAY + 11 * HOUR}],
    }


# --- Alternatives --------------------------------------------------------------------------
POLICY = Policy()


def test_alternatives_are_the_nearest_bookable_ranges_of_the_same_length() -> None:
    slots = [slot(h) for h in range(8, 16)]
    slots[3] = replace(slots[3], held=10, status="full")  # 11:00
    found = suggest_alternatives(request(10, 12), RESIDENT, slots, POLICY, NOW)
    # 10-12 (the request) and 11-13 hold the full 11:00; nearest first, earlier on a tie
    assert found == [
        TimeRange(DAY + 9 * HOUR, DAY + 11 * HOUR),
        TimeRange(DAY + 8 * HOUR, DAY + 10 * HOUR),
        TimeRange(DAY + 12 * HOUR, DAY + 14 * HOUR),
    ]


def test_alternatives_skip_closed_unadmitting_and_too_small_slots() -> None:
    slots = [
        slot(9, status="closed"),
        slot(11, audience=("community:shangnan-2",)),
        slot(12, held=9),  # one place left, two wanted
        slot(13),
    ]
    found = suggest_alternatives(request(10, 11, quantity=2), RESIDENT, slots, POLICY, NOW)
    assert found == [TimeRange(DAY + 13 * HOUR, DAY + 14 * HOUR)]


def test_alternatives_respect_lead_time_and_horizon_and_the_limit() -> None:
    slots = [slot(h) for h in range(0, 24)]
    policy = msgspec.structs.replace(POLICY, min_lead_minutes=(24 + 10) * 60)
    found = suggest_alternatives(request(9, 10), RESIDENT, slots, policy, NOW)
    assert found == [TimeRange(DAY + h * HOUR, DAY + (h + 1) * HOUR) for h in (10, 11, 12)]
    policy = msgspec.structs.replace(POLICY, horizon_days=1)  # latest start: DAY 00:00
    found = suggest_alternatives(request(3, 4), RESIDENT, slots, policy, NOW, limit=5)
    assert found == [TimeRange(DAY, DAY + HOUR)]


def test_only_kinds_that_suggest_times_get_alternatives() -> None:
    slots = [slot(h) for h in range(8, 14)]
    quota = Refusal(kinds.QUOTA_EXCEEDED, "Too many.", QuotaFacts(rule="q", limit=1))
    assert alternatives(quota, request(10, 11), RESIDENT, slots, POLICY, NOW) is quota
    lead = Refusal(kinds.LEAD_TIME, "Too late.", TimingFacts(rule="policy.min_lead_minutes"))
    suggested = alternatives(lead, request(10, 11), RESIDENT, slots, POLICY, NOW)
    assert suggested.fact_values()["alternatives"] == [
        {"starts_at": DAY + 9 * HOUR, "ends_at": DAY + 10 * HOUR},
        {"starts_at": DAY + 11 * HOUR, "ends_at": DAY + 12 * HOUR},
        {"starts_at": DAY + 8 * HOUR, "ends_at": DAY + 9 * HOUR},
    ]
    assert suggested.kind is kinds.LEAD_TIME and suggested.detail == "Too late."
    assert "alternatives" not in lead.fact_values()  # the original is unchanged


def test_no_alternative_found_leaves_the_refusal_as_it_was() -> None:
    lead = Refusal(kinds.LEAD_TIME, "Too late.", TimingFacts(rule="policy.min_lead_minutes"))
    assert alternatives(lead, request(10, 11), RESIDENT, [], POLICY, NOW) is lead
    assert lead.with_alternatives([Alternative(DAY, DAY + HOUR)]).fact_values()["alternatives"]


def test_alternatives_are_looked_for_around_the_request_from_now_on() -> None:
    around = timedelta(days=3)
    assert alternatives_span(request(10, 11), NOW, around) == TimeRange(
        NOW, DAY + 11 * HOUR + around
    )
    far = Request(TimeRange(NOW + timedelta(days=10), NOW + timedelta(days=10, hours=1)))
    assert alternatives_span(far, NOW, around) == TimeRange(
        NOW + timedelta(days=7), NOW + timedelta(days=13, hours=1)
    )
    past = Request(TimeRange(NOW - timedelta(days=5), NOW - timedelta(days=5) + HOUR))
    assert alternatives_span(past, NOW, around) is None
