"""The permit rules, as values: release instants, nights, the permit horizon, the order of
a release and the state shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.core.lottery import draw_order
from scheduler.core.permits import (
    Period,
    PermitPolicy,
    allocation_order,
    check_permit_horizon,
    nights,
    parse_period,
    permit_state,
    releases_at,
    remaining_nights,
)
from scheduler.core.policy import Policy, permit_occurrence_policy, policy_errors
from scheduler.core.refusals import Refusal

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("period", "months_before", "expected"),
    [
        ("2027-01", 1, datetime(2026, 12, 25, 1, 0, tzinfo=UTC)),  # across the year
        ("2026-12", 1, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)),
        ("2027-03", 0, datetime(2027, 3, 25, 1, 0, tzinfo=UTC)),
        ("2027-02", 3, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)),
    ],
)
def test_release_instant(period: str, months_before: int, expected: datetime) -> None:
    offer = PermitPolicy(release_months_before=months_before)
    assert releases_at(offer, parse_period(period), SHANGHAI) == expected


@pytest.mark.parametrize("text", ["2027-13", "2027-00", "27-01", "2027-1", "1999-01", "x"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


def test_every_night_of_the_month_in_local_time() -> None:
    found = nights(PermitPolicy(), Period(2027, 2), SHANGHAI)
    assert len(found) == 28
    assert found[0].start.astimezone(SHANGHAI).isoformat() == "2027-02-01T18:00:00+08:00"
    assert found[-1].end.astimezone(SHANGHAI).isoformat() == "2027-03-01T08:00:00+08:00"


def test_nights_keep_their_local_times_across_a_clock_change() -> None:
    found = nights(PermitPolicy(), Period(2027, 3), BERLIN)  # summer time from 28 March
    local = {(n.start.astimezone(BERLIN).hour, n.end.astimezone(BERLIN).hour) for n in found}
    assert local == {(18, 8)}
    short = next(n for n in found if n.start.astimezone(BERLIN).day == 27)
    assert short.duration == timedelta(hours=13)


def test_a_permit_taken_during_its_month_covers_the_rest() -> None:
    now = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: night 10 started
    left = remaining_nights(PermitPolicy(), Period(2026, 12), SHANGHAI, now, timedelta(0))
    assert left[0].start.astimezone(SHANGHAI).day == 11 and len(left) == 21


def test_permit_horizon_counts_to_the_last_night() -> None:
    offer = PermitPolicy(permit_horizon_days=62)
    january = nights(offer, Period(2027, 1), SHANGHAI)
    check_permit_horizon(offer, january[-1], datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    with pytest.raises(Refusal) as refused:
        check_permit_horizon(offer, january[-1], datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    assert refused.value.kind.code == "horizon"


def test_lottery_only_when_oversubscribed() -> None:
    ids = ["pmt_c", "pmt_a", "pmt_b"]
    assert allocation_order(ids, "seed", lottery=True, units=3) == (ids, False)
    assert allocation_order(ids, "seed", lottery=False, units=1) == (ids, False)
    assert allocation_order(ids, "seed", lottery=True, units=2) == (draw_order(ids, "seed"), True)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=30, unique=True))
def test_the_drawn_order_is_a_permutation_replayable_from_the_seed(ids: list[str]) -> None:
    order, drawn = allocation_order(ids, "f00d", lottery=True, units=1)
    assert drawn and sorted(order) == sorted(ids)
    assert order == allocation_order(list(reversed(ids)), "f00d", lottery=True, units=1)[0]


@pytest.mark.parametrize(
    ("stored", "statuses", "shown"),
    [
        ("applied", [], "applied"),
        ("confirmed", ["confirmed"] * 3, "confirmed"),
        ("confirmed", ["completed", "confirmed", "cancelled"], "partly_cancelled"),
        ("confirmed", ["cancelled"] * 2, "cancelled"),
        ("not_selected", [], "not_selected"),
    ],
)
def test_state_shown(stored: str, statuses: list[str], shown: str) -> None:
    assert permit_state(stored, statuses) == shown


def test_policy_checks_the_night_against_durations_and_slots() -> None:
    ok = msgspec.convert({"max_duration_minutes": 840, "permit": {}}, Policy)
    assert policy_errors(ok) == []
    too_long = msgspec.convert({"permit": {}}, Policy)  # 840 minutes > the default 240
    assert [field for field, _ in policy_errors(too_long)] == ["policy.permit"]
    ragged = msgspec.convert({"max_duration_minutes": 900, "permit": {"end_time": "08:30"}}, Policy)
    assert "policy.permit.end_time" in [field for field, _ in policy_errors(ragged)]


def test_nights_are_booked_under_the_permit_horizon_without_nightly_release() -> None:
    policy = msgspec.convert(
        {
            "max_duration_minutes": 840,
            "release": {"days_ahead": 7},
            "allocation": "lottery",
            "max_active_bookings_per_week": 2,
            "permit": {"permit_horizon_days": 62},
        },
        Policy,
    )
    nightly = permit_occurrence_policy(policy)
    assert (nightly.horizon_days, nightly.release, nightly.allocation) == (62, None, "fcfs")
    assert nightly.max_active_bookings_per_week is None
    assert nightly.max_duration_minutes == 840
