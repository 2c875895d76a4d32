"""The fair allocation of a round, the side-by-side grouping and the season's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.core.allocation import (
    SlotRequest,
    accepts_applications,
    allocate,
    competitions,
    effective_state,
    fits,
    season_occurrences,
)
from scheduler.core.lottery import draw_order

TUESDAY = 1


def slot(
    id: str, applicant: str, priority: int, starts: int = 18 * 60, ends: int = 20 * 60, **kw
) -> SlotRequest:
    fields = {"resource_id": "ground-a", "weekday": TUESDAY, "quantity": 1, **kw}
    return SlotRequest(
        id=id, applicant=applicant, starts=starts, ends=ends, priority=priority, **fields
    )


def granted(result) -> set[str]:
    return {v.slot_id for v in result.verdicts if v.decision == "granted"}


def test_fits_counts_overlap_at_every_minute():
    a = slot("a", "x", 1, 18 * 60, 19 * 60)
    b = slot("b", "y", 1, 19 * 60, 20 * 60)
    wide = slot("w", "z", 1, 18 * 60, 20 * 60)
    assert fits(wide, [a], 2) and fits(wide, [a, b], 2)  # a and b never overlap each other
    assert not fits(wide, [a, b], 1)
    assert fits(b, [a], 1)  # back to back
    assert fits(slot("c", "q", 1, resource_id="ground-b"), [a, b, wide], 1)


def test_three_clubs_for_one_tuesday_evening_the_draw_decides_and_is_replayable():
    slots = [slot(f"s-{club}", club, 1) for club in ("club-a", "club-b", "club-c")]
    result = allocate(slots, {"ground-a": 1}, "seed-1")
    winner = draw_order(["club-a", "club-b", "club-c"], "seed-1:1")[0]
    assert granted(result) == {f"s-{winner}"}
    assert result.draws[1] == tuple(draw_order(["club-a", "club-b", "club-c"], "seed-1:1"))
    assert allocate(list(reversed(slots)), {"ground-a": 1}, "seed-1") == result
    winners = {next(iter(granted(allocate(slots, {"ground-a": 1}, f"s{n}")))) for n in range(40)}
    assert len(winners) == 3  # every club can win: the draw, not the order of rows, decides


def test_priority_two_goes_first_to_who_has_fewest_minutes():
    clubs = ("club-a", "club-b", "club-c")
    slots = [slot(f"1-{c}", c, 1) for c in clubs] + [
        slot(f"2-{c}", c, 2, resource_id="ground-b") for c in clubs
    ]
    for seed in ("a", "b", "c", "d", "e", "f"):
        result = allocate(slots, {"ground-a": 1, "ground-b": 1}, seed)
        first = next(iter(g for g in granted(result) if g.startswith("1-")))
        second = next(iter(g for g in granted(result) if g.startswith("2-")))
        assert first[2:] != second[2:]  # the priority-1 winner waits behind clubs with nothing
        expected = next(c for c in draw_order(list(clubs), f"{seed}:2") if c != first[2:])
        assert second == f"2-{expected}"


def test_fewest_minutes_beats_the_draw_within_a_priority_round():
    # club-a already holds 3 hours by hand; at priority 1 club-b goes first whatever the draw.
    manual = slot("m", "club-a", 1, 9 * 60, 12 * 60, resource_id="ground-b")
    manual = SlotRequest(**{**_fields(manual), "decision": "granted", "manual": True})
    slots = [manual, slot("a", "club-a", 2), slot("b", "club-b", 2)]
    for seed in ("1", "2", "3", "4", "5"):
        result = allocate(slots, {"ground-a": 1, "ground-b": 1}, seed)
        assert granted(result) == {"b"}
        assert [v.slot_id for v in result.verdicts] == ["b", "a"]  # manual ones are kept


def test_head_count_capacity_grants_while_places_remain():
    slots = [slot(f"s{n}", f"club-{n}", 1, quantity=25) for n in range(3)]
    result = allocate(slots, {"ground-a": 60}, "x")
    assert len(granted(result)) == 2
    assert {v.reason for v in result.verdicts if v.decision == "declined"} == {"capacity"}


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(1, 3), st.integers(0, 5), st.integers(1, 3)),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 3),
    st.text(min_size=1, max_size=8),
)
def test_never_grants_beyond_capacity_and_is_deterministic(rows, capacity, seed):
    slots = [
        slot(f"s{i}", f"club-{club}", priority, (17 + hour) * 60, (18 + hour + length) * 60)
        for i, (club, priority, hour, length) in enumerate(rows)
    ]
    result = allocate(slots, {"ground-a": capacity}, seed)
    assert allocate(slots, {"ground-a": capacity}, seed) == result
    assert {v.slot_id for v in result.verdicts} == {s.id for s in slots}
    chosen = [s for s in slots if s.id in granted(result)]
    for minute in range(17 * 60, 26 * 60):
        assert sum(s.quantity for s in chosen if s.starts <= minute < s.ends) <= capacity


def test_competitions_group_overlapping_times_per_resource_and_weekday():
    slots = [
        slot("a", "x", 1, 18 * 60, 20 * 60),
        slot("b", "y", 1, 19 * 60, 21 * 60),
        slot("c", "z", 1, 21 * 60, 22 * 60),  # starts when b ends: no competition
        slot("d", "z", 2, 18 * 60, 20 * 60, weekday=3),
    ]
    groups = competitions(slots)
    assert [(g.weekday, g.starts, g.ends, [s.id for s in g.slots]) for g in groups] == [
        (TUESDAY, 18 * 60, 21 * 60, ["a", "b"]),
        (TUESDAY, 21 * 60, 22 * 60, ["c"]),
        (3, 18 * 60, 20 * 60, ["d"]),
    ]


def test_season_occurrences_every_tuesday_of_the_term_in_local_time():
    found = season_occurrences(
        date(2026, 9, 1), date(2026, 12, 15), TUESDAY, 18 * 60, 20 * 60, ZoneInfo("Asia/Shanghai")
    )
    assert len(found) == 16
    assert found[0].start == datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
    assert found[-1].end == datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def test_season_occurrences_keep_local_time_across_a_clock_change():
    helsinki = ZoneInfo("Europe/Helsinki")
    found = season_occurrences(date(2026, 10, 20), date(2026, 11, 3), TUESDAY, 1080, 1200, helsinki)
    assert [r.start.astimezone(helsinki).hour for r in found] == [18, 18, 18]
    assert found[1].start - found[0].start == timedelta(days=7, hours=1)


@pytest.mark.parametrize(
    ("stored", "now_offset", "expected"),
    [("open", -1, "open"), ("open", 0, "closed"), ("draft", 5, "draft"), ("closed", -5, "closed")],
)
def test_an_open_round_closes_at_the_end_of_its_period(stored, now_offset, expected):
    closes = datetime(2026, 8, 31, tzinfo=UTC)
    now = closes + timedelta(hours=now_offset)
    assert effective_state(stored, closes, now) == expected
    opens = closes - timedelta(days=7)
    assert accepts_applications(effective_state(stored, closes, now), opens, closes, now) == (
        expected == "open"
    )


def _fields(request: SlotRequest) -> dict:
    return {name: getattr(request, name) for name in request.__slots__}
