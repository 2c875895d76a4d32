"""TimeRange, subtract and merge: table-driven cases plus hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.timerange import TimeRange, merge, subtract

BASE = datetime(2026, 10, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(minute: int) -> datetime:
    """An aware UTC instant ``minute`` minutes after 2026-10-01 00:00 UTC."""
    return BASE + timedelta(minutes=minute)


def span(start: int, end: int) -> TimeRange:
    return TimeRange(at(start), at(end))


def spans(*pairs: tuple[int, int]) -> list[TimeRange]:
    return [span(start, end) for start, end in pairs]


ranges = st.builds(
    lambda start, length: span(start, start + length),
    st.integers(min_value=0, max_value=2_000),
    st.integers(min_value=1, max_value=600),
)
range_lists = st.lists(ranges, max_size=8)


def covers(pieces: list[TimeRange], moment: datetime) -> bool:
    return any(piece.contains_instant(moment) for piece in pieces)


def probe_instants(*groups: list[TimeRange]) -> list[datetime]:
    """Every boundary and the instant just after it: enough to compare unions of ranges."""
    found: set[datetime] = set()
    for group in groups:
        for piece in group:
            for edge in (piece.start, piece.end):
                found.update({edge, edge + timedelta(seconds=1), edge - timedelta(seconds=1)})
    return sorted(found)


def total(pieces: list[TimeRange]) -> timedelta:
    return sum((piece.duration for piece in pieces), timedelta())


# --- construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 10, 1, 8), datetime(2026, 10, 1, 9, tzinfo=UTC)),
        (datetime(2026, 10, 1, 8, tzinfo=UTC), datetime(2026, 10, 1, 9)),
        (datetime(2026, 10, 1, 8), datetime(2026, 10, 1, 9)),
    ],
    ids=["naive-start", "naive-end", "both-naive"],
)
def test_rejects_naive_datetimes(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match="aware"):
        TimeRange(start, end)


@pytest.mark.parametrize(
    ("start", "end"),
    [(60, 60), (61, 60), (0, -1)],
    ids=["empty", "reversed-by-a-minute", "reversed-across-midnight"],
)
def test_rejects_empty_and_reversed_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="empty or reversed"):
        span(start, end)


def test_rejects_reversed_range_given_in_different_zones() -> None:
    """08:30 in Shanghai is 00:30 UTC: before 01:00 UTC, although its wall clock is later."""
    with pytest.raises(ValueError):
        TimeRange(
            datetime(2026, 10, 1, 1, tzinfo=UTC), datetime(2026, 10, 1, 8, 30, tzinfo=SHANGHAI)
        )


def test_utc_constructor_converts_both_ends_to_utc() -> None:
    local = TimeRange.utc(
        datetime(2026, 10, 1, 18, tzinfo=SHANGHAI), datetime(2026, 10, 2, 8, tzinfo=SHANGHAI)
    )
    assert local.start.tzinfo is UTC and local.end.tzinfo is UTC
    assert local == span(10 * 60, 24 * 60)
    assert local.duration == timedelta(hours=14)


def test_same_instants_in_different_zones_are_equal_ranges() -> None:
    shanghai = TimeRange(
        datetime(2026, 10, 1, 8, tzinfo=SHANGHAI), datetime(2026, 10, 1, 9, tzinfo=SHANGHAI)
    )
    assert shanghai == span(0, 60)
    assert hash(shanghai) == hash(span(0, 60))


# --- overlap, containment, intersection ----------------------------------------------------

OVERLAP_CASES = [
    # (a, b, overlaps, intersection)
    ((0, 60), (60, 120), False, None),  # back to back: 18:00-19:00 and 19:00-20:00
    ((0, 60), (61, 120), False, None),  # a gap
    ((0, 60), (59, 120), True, (59, 60)),  # one minute in common
    ((0, 120), (30, 60), True, (30, 60)),  # nested
    ((0, 60), (0, 60), True, (0, 60)),  # identical
    ((0, 60), (0, 30), True, (0, 30)),  # same start
    ((0, 60), (30, 60), True, (30, 60)),  # same end
]


@pytest.mark.parametrize(("a", "b", "expected", "_"), OVERLAP_CASES)
def test_overlaps_table(
    a: tuple[int, int], b: tuple[int, int], expected: bool, _: tuple[int, int] | None
) -> None:
    assert span(*a).overlaps(span(*b)) is expected
    assert span(*b).overlaps(span(*a)) is expected


@pytest.mark.parametrize(("a", "b", "_", "expected"), OVERLAP_CASES)
def test_intersect_table(
    a: tuple[int, int], b: tuple[int, int], _: bool, expected: tuple[int, int] | None
) -> None:
    want = span(*expected) if expected else None
    assert span(*a).intersect(span(*b)) == want
    assert span(*b).intersect(span(*a)) == want


def test_contains_instant_is_half_open() -> None:
    hour = span(0, 60)
    assert hour.contains_instant(at(0))
    assert hour.contains_instant(at(60) - timedelta(microseconds=1))
    assert not hour.contains_instant(at(60))
    assert not hour.contains_instant(at(0) - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("inner", "expected"),
    [((0, 60), True), ((10, 20), True), ((0, 61), False), ((-1, 30), False), ((60, 90), False)],
)
def test_contains_table(inner: tuple[int, int], expected: bool) -> None:
    assert span(0, 60).contains(span(*inner)) is expected


@settings(max_examples=200)
@given(ranges, ranges)
def test_overlaps_is_symmetric_and_agrees_with_intersect(a: TimeRange, b: TimeRange) -> None:
    assert a.overlaps(b) == b.overlaps(a)
    assert a.overlaps(b) == (a.intersect(b) is not None)


@settings(max_examples=200)
@given(ranges, ranges)
def test_intersection_is_contained_in_both(a: TimeRange, b: TimeRange) -> None:
    common = a.intersect(b)
    assert common == b.intersect(a)
    if common is not None:
        assert a.contains(common) and b.contains(common)
        assert common.duration <= min(a.duration, b.duration)


@settings(max_examples=200)
@given(st.integers(0, 1000), st.integers(1, 600), st.integers(1, 600))
def test_back_to_back_ranges_never_overlap(start: int, first: int, second: int) -> None:
    before, after = span(start, start + first), span(start + first, start + first + second)
    assert not before.overlaps(after)
    assert not after.overlaps(before)
    assert before.intersect(after) is None


# --- subtract ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pieces", "holes", "expected"),
    [
        ([(0, 60)], [], [(0, 60)]),
        ([(0, 60)], [(20, 30)], [(0, 20), (30, 60)]),
        ([(0, 60)], [(0, 60)], []),
        ([(0, 60)], [(-10, 70)], []),
        ([(0, 60)], [(0, 10)], [(10, 60)]),
        ([(0, 60)], [(50, 60)], [(0, 50)]),
        ([(0, 60)], [(60, 90)], [(0, 60)]),  # a back-to-back hole cuts nothing
        ([(0, 60)], [(-30, 0)], [(0, 60)]),
        ([(0, 60)], [(40, 50), (10, 20)], [(0, 10), (20, 40), (50, 60)]),  # unsorted holes
        ([(0, 60)], [(10, 30), (20, 40)], [(0, 10), (40, 60)]),  # overlapping holes
        ([(0, 60)], [(10, 20), (20, 30)], [(0, 10), (30, 60)]),  # touching holes
        ([(100, 160), (0, 60)], [(50, 110)], [(0, 50), (110, 160)]),  # unsorted pieces
    ],
)
def test_subtract_table(
    pieces: list[tuple[int, int]], holes: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert subtract(spans(*pieces), spans(*holes)) == spans(*expected)


@settings(max_examples=200)
@given(range_lists, range_lists)
def test_subtract_result_avoids_holes_and_stays_inside_inputs(
    pieces: list[TimeRange], holes: list[TimeRange]
) -> None:
    result = subtract(pieces, holes)
    for part in result:
        assert not any(part.overlaps(hole) for hole in holes)
        assert any(piece.contains(part) for piece in pieces)


@settings(max_examples=200)
@given(range_lists, range_lists)
def test_subtract_duration_is_input_minus_covered(
    pieces: list[TimeRange], holes: list[TimeRange]
) -> None:
    """Per input range: what remains = its duration - the part of it the holes cover."""
    union_of_holes = merge(holes)
    expected = timedelta()
    for piece in pieces:
        covered = total([c for hole in union_of_holes if (c := piece.intersect(hole))])
        expected += piece.duration - covered
    assert total(subtract(pieces, holes)) == expected


@settings(max_examples=200)
@given(range_lists, range_lists)
def test_subtract_of_disjoint_inputs_is_sorted_and_disjoint(
    pieces: list[TimeRange], holes: list[TimeRange]
) -> None:
    result = subtract(merge(pieces), holes)
    assert result == sorted(result)
    for earlier, later in pairwise(result):
        assert earlier.end <= later.start
    for moment in probe_instants(pieces, holes):
        assert covers(result, moment) == (covers(pieces, moment) and not covers(holes, moment))


def test_subtract_output_is_in_order_even_for_overlapping_inputs() -> None:
    result = subtract(spans((0, 10), (4, 5)), spans((1, 3), (6, 7)))
    assert result == sorted(result)


# --- merge ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([], []),
        ([(0, 60)], [(0, 60)]),
        ([(0, 60), (30, 90)], [(0, 90)]),
        ([(0, 60), (60, 90)], [(0, 90)]),  # touching ranges merge
        ([(0, 60), (61, 90)], [(0, 60), (61, 90)]),
        ([(0, 100), (10, 20)], [(0, 100)]),  # nested
        ([(200, 300), (0, 60), (50, 70)], [(0, 70), (200, 300)]),  # unsorted
        ([(0, 60), (0, 60)], [(0, 60)]),  # duplicates
    ],
)
def test_merge_table(pieces: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert merge(spans(*pieces)) == spans(*expected)


@settings(max_examples=200)
@given(range_lists)
def test_merge_is_sorted_separated_and_covers_the_same_instants(pieces: list[TimeRange]) -> None:
    merged = merge(pieces)
    for earlier, later in pairwise(merged):
        assert earlier.end < later.start  # neither overlapping nor touching
    for moment in probe_instants(pieces):
        assert covers(merged, moment) == covers(pieces, moment)
    assert all(any(m.contains(piece) for m in merged) for piece in pieces)
    assert merge(merged) == merged
    assert merge(reversed(pieces)) == merged
    assert subtract(pieces, merged) == [] and subtract(merged, pieces) == []
