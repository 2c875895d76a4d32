"""compute_slots: windows - closures - held capacity -> slots, with DST, release and merging."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.availability import Closure, Resource, Slot, compute_slots, granules
from scheduler.core.calendar import DayCalendar
from scheduler.core.release import ReleasePolicy, releases_at
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import Window, clock_problems, occurrences, parse_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = DayCalendar()
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
DAY = date(2026, 10, 14)  # an ordinary Wednesday


def make_resource(capacity: int = 60, zone: ZoneInfo = SHANGHAI, granularity: int = 60) -> Resource:
    return Resource(capacity=capacity, timezone=zone, granularity_minutes=granularity)


def make_window(start: str, end: str, **fields: Any) -> Window:
    """A window from clock texts; open every day unless a rule or day types are given."""
    fields.setdefault("id", "w1")
    if "rrule" not in fields and "day_types" not in fields:
        fields["rrule"] = "FREQ=DAILY"
    return Window(
        start_time=parse_clock(start, is_end=False),
        end_time=parse_clock(end, is_end=True),
        **fields,
    )


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def local_day(day: date, zone: ZoneInfo = SHANGHAI) -> TimeRange:
    return TimeRange.utc(local(day, 0, zone=zone), local(day + timedelta(days=1), 0, zone=zone))


def slots_for(
    windows: Sequence[Window],
    *,
    resource: Resource | None = None,
    span: TimeRange | None = None,
    closures: Sequence[Closure] = (),
    held: Mapping[datetime, int] | None = None,
    now: datetime = LONG_AGO,
    release: ReleasePolicy | None = None,
) -> list[Slot]:
    """compute_slots with safe defaults: one Shanghai day, 60 places, nothing held, all future."""
    resource = resource or make_resource()
    return compute_slots(
        resource,
        windows,
        CALENDAR,
        closures,
        held or {},
        span or local_day(DAY, resource.timezone),
        now,
        (lambda day: releases_at(release, day, resource.timezone)) if release else None,
    )


def local_starts(slots: Sequence[Slot], zone: ZoneInfo = SHANGHAI) -> list[str]:
    return [slot.range.start.astimezone(zone).strftime("%H:%M%z") for slot in slots]


# --- daylight saving -------------------------------------------------------------------------


def test_dst_start_in_berlin_yields_only_real_hours() -> None:
    """01:00-04:00 on 2027-03-28: 02:00-03:00 does not exist, so two 60-minute slots."""
    day = date(2027, 3, 28)
    window = make_window("01:00", "04:00", valid_from=day, valid_until=day)
    slots = slots_for([window], resource=make_resource(zone=BERLIN), span=local_day(day, BERLIN))
    assert local_starts(slots, BERLIN) == ["01:00+0100", "03:00+0200"]
    assert [slot.range.duration for slot in slots] == [timedelta(hours=1)] * 2
    assert slots[0].range.end == slots[1].range.start


def test_dst_end_in_berlin_yields_four_real_hours() -> None:
    """01:00-04:00 on 2027-10-31: 02:00-03:00 happens twice, so four 60-minute slots."""
    day = date(2027, 10, 31)
    window = make_window("01:00", "04:00", valid_from=day, valid_until=day)
    slots = slots_for([window], resource=make_resource(zone=BERLIN), span=local_day(day, BERLIN))
    assert local_starts(slots, BERLIN) == ["01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]
    assert [slot.range.duration for slot in slots] == [timedelta(hours=1)] * 4
    assert slots[0].range.start == datetime(2027, 10, 30, 23, tzinfo=UTC)
    assert slots[-1].range.end == datetime(2027, 10, 31, 3, tzinfo=UTC)


# --- closures, holdings, past ----------------------------------------------------------------


def test_closure_marks_overlapping_slots_closed() -> None:
    window = make_window("08:00", "13:00")
    exam = Closure(TimeRange.utc(local(DAY, 9, 30), local(DAY, 10, 30)), reason="exam")
    after = Closure(TimeRange.utc(local(DAY, 13), local(DAY, 14)), reason="back to back")
    slots = slots_for([window], closures=[exam, after], held={local(DAY, 9): 5})
    assert local_starts(slots) == [
        "08:00+0800",
        "09:00+0800",
        "10:00+0800",
        "11:00+0800",
        "12:00+0800",
    ]
    assert [slot.status for slot in slots] == ["open", "closed", "closed", "open", "open"]
    assert [slot.closure_reason for slot in slots] == [None, "exam", "exam", None, None]
    assert [slot.available for slot in slots] == [60, 0, 0, 60, 60]
    assert slots[1].held == 5  # holdings are still reported on a closed slot


def test_held_reduces_available_and_capacity_held_is_full() -> None:
    window = make_window("08:00", "12:00")
    held = {local(DAY, 8): 20, local(DAY, 9): 60, local(DAY, 10): 75}
    slots = slots_for([window], held=held)
    assert [(slot.held, slot.status, slot.available) for slot in slots] == [
        (20, "open", 40),
        (60, "full", 0),
        (75, "full", 0),
        (0, "open", 60),
    ]


def test_held_keys_match_whatever_zone_they_are_given_in() -> None:
    window = make_window("08:00", "09:00")
    slots = slots_for([window], held={datetime(2026, 10, 14, 0, tzinfo=UTC): 59})
    assert [(slot.held, slot.available) for slot in slots] == [(59, 1)]


def test_slots_that_have_started_are_past() -> None:
    window = make_window("08:00", "12:00")
    now = local(DAY, 10)
    slots = slots_for([window], now=now, held={local(DAY, 8): 3})
    assert [slot.status for slot in slots] == ["past", "past", "open", "open"]
    assert [slot.available for slot in slots] == [0, 0, 60, 60]
    slots = slots_for([window], now=now + timedelta(microseconds=1))
    assert [slot.status for slot in slots] == ["past", "past", "past", "open"]


def test_closed_takes_precedence_over_past() -> None:
    window = make_window("08:00", "10:00")
    closure = Closure(TimeRange.utc(local(DAY, 8), local(DAY, 10)), reason="maintenance")
    slots = slots_for([window], closures=[closure], now=local(DAY, 23))
    assert [slot.status for slot in slots] == ["closed", "closed"]


# --- release ---------------------------------------------------------------------------------


def test_daily_release_opens_slots_exactly_at_the_release_instant() -> None:
    """days_ahead=7 at 09:00: slots on 10-14 open at 09:00 on 10-07 (01:00 UTC)."""
    policy = ReleasePolicy(days_ahead=7, at="09:00")
    window = make_window("18:00", "20:00")
    release = datetime(2026, 10, 7, 1, tzinfo=UTC)
    before = slots_for([window], now=release - timedelta(seconds=1), release=policy)
    assert [slot.status for slot in before] == ["not_released", "not_released"]
    assert [slot.releases_at for slot in before] == [release, release]
    assert [slot.available for slot in before] == [60, 60]
    for now in (release, release + timedelta(seconds=1)):
        after = slots_for([window], now=now, release=policy)
        assert [slot.status for slot in after] == ["open", "open"]
        assert [slot.releases_at for slot in after] == [None, None]


def test_a_night_is_released_by_the_date_its_window_opened() -> None:
    """The tail of a tidal night (00:00-08:00 on 10-15) is released with its evening (10-14),
    so a resident can book the whole night at once."""
    policy = ReleasePolicy(days_ahead=7, at="09:00")
    window = make_window("18:00", "08:00")
    now = datetime(2026, 10, 7, 1, 30, tzinfo=UTC)  # 10-07 09:30: 10-14 released, 10-15 not
    span = TimeRange.utc(local(DAY, 22), local(DAY + timedelta(days=1), 2))
    slots = slots_for([window], span=span, now=now, release=policy)
    assert local_starts(slots) == ["22:00+0800", "23:00+0800", "00:00+0800", "01:00+0800"]
    assert [slot.status for slot in slots] == ["open"] * 4
    before = slots_for([window], span=span, now=now - timedelta(days=1), release=policy)
    assert [slot.status for slot in before] == ["not_released"] * 4
    assert before[-1].releases_at == datetime(2026, 10, 7, 1, tzinfo=UTC)


def test_full_slot_before_release_is_not_released() -> None:
    policy = ReleasePolicy(days_ahead=7, at="09:00")
    slots = slots_for(
        [make_window("18:00", "19:00")],
        held={local(DAY, 18): 60},
        now=local(DAY, 0),
        release=policy,
    )
    assert [(s.status, s.available) for s in slots] == [("full", 0)]
    slots = slots_for(
        [make_window("18:00", "19:00")],
        held={local(DAY, 18): 60},
        now=datetime(2026, 10, 1, tzinfo=UTC),
        release=policy,
    )
    assert [(s.status, s.available) for s in slots] == [("not_released", 0)]


# --- window capacity and overlapping windows ---------------------------------------------------


def test_window_capacity_overrides_the_resource_capacity() -> None:
    window = make_window("18:00", "20:00", capacity=2, label="evening")
    slots = slots_for([window], held={local(DAY, 19): 2})
    assert [(s.capacity, s.status, s.available, s.label) for s in slots] == [
        (2, "open", 2, "evening"),
        (2, "full", 0, "evening"),
    ]


def test_identical_granules_of_overlapping_windows_merge() -> None:
    residents = make_window("08:00", "12:00", id="w1", capacity=10, audience=("residents",))
    public = make_window("10:00", "14:00", id="w2", capacity=20, audience=("public", "residents"))
    slots = slots_for([residents, public])
    assert local_starts(slots) == [f"{hour:02}:00+0800" for hour in range(8, 14)]
    assert [(s.capacity, s.audience, s.window_ids) for s in slots] == [
        (10, ("residents",), ("w1",)),
        (10, ("residents",), ("w1",)),
        (20, ("residents", "public"), ("w1", "w2")),
        (20, ("residents", "public"), ("w1", "w2")),
        (20, ("public", "residents"), ("w2",)),
        (20, ("public", "residents"), ("w2",)),
    ]


def test_merged_capacity_is_the_larger_whichever_window_comes_first() -> None:
    big = make_window("08:00", "09:00", id="big", capacity=30)
    small = make_window("08:00", "09:00", id="small", capacity=3)
    assert [s.capacity for s in slots_for([small, big])] == [30]
    assert [s.window_ids for s in slots_for([small, big])] == [("small", "big")]


def test_partially_overlapping_granules_are_dropped() -> None:
    whole_hours = make_window("08:00", "12:00", id="w1")
    half_past = make_window("10:30", "13:30", id="w2")
    slots = slots_for([half_past, whole_hours])
    assert local_starts(slots) == [
        "08:00+0800",
        "09:00+0800",
        "10:00+0800",
        "11:00+0800",
        "12:30+0800",
    ]
    assert [s.window_ids for s in slots] == [("w1",)] * 4 + [("w2",)]


def test_only_slots_starting_inside_the_span() -> None:
    window = make_window("08:00", "12:00")
    span = TimeRange.utc(local(DAY, 8, 30), local(DAY, 10))
    assert local_starts(slots_for([window], span=span)) == ["09:00+0800"]


def test_granules_do_not_emit_a_short_tail() -> None:
    occurrence = TimeRange(
        datetime(2026, 10, 14, 0, tzinfo=UTC), datetime(2026, 10, 14, 1, 45, tzinfo=UTC)
    )
    assert [g.duration for g in granules(occurrence, 30)] == [timedelta(minutes=30)] * 3


# --- properties ---------------------------------------------------------------------------

RULES: list[dict[str, Any]] = [
    {"rrule": "FREQ=DAILY"},
    {"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
    {"day_types": ("rest_day",)},
    {"day_types": ("workday",)},
    {"rrule": "FREQ=WEEKLY;BYDAY=SA,SU", "day_types": ("workday",)},
    {"rrule": "FREQ=DAILY;INTERVAL=2", "valid_from": date(2026, 9, 1)},
]
# Spans start near the National Day break, Berlin's two DST changes and the year's end.
ANCHORS = [
    datetime(2026, 9, 28, tzinfo=UTC),
    datetime(2027, 3, 26, tzinfo=UTC),
    datetime(2027, 10, 29, tzinfo=UTC),
    datetime(2026, 12, 30, tzinfo=UTC),
]


def clock_text(quarter: int) -> str:
    return f"{quarter // 4:02}:{quarter % 4 * 15:02}"


@st.composite
def windows(draw: st.DrawFn, index: int) -> Window:
    start = draw(st.integers(0, 95))
    end = draw(st.integers(1, 96).filter(lambda end: end != start))
    start_text, end_text = clock_text(start), clock_text(end)
    assert clock_problems(start_text, end_text) == []
    return make_window(
        start_text,
        end_text,
        id=f"w{index}",
        capacity=draw(st.none() | st.integers(1, 6)),
        audience=draw(st.sampled_from([("residents",), ("public",), ("residents", "visitors")])),
        **draw(st.sampled_from(RULES)),
    )


release_policies = (
    st.none()
    | st.builds(ReleasePolicy, days_ahead=st.integers(0, 10), at=st.integers(0, 95).map(clock_text))
    | st.builds(
        ReleasePolicy,
        weekday=st.sampled_from(["MON", "WED", "SUN"]),
        weeks_ahead=st.integers(0, 2),
        at=st.integers(0, 95).map(clock_text),
    )
)


@dataclass
class Case:
    resource: Resource
    windows: list[Window]
    closures: list[Closure]
    held: dict[datetime, int]
    span: TimeRange
    now: datetime
    release: ReleasePolicy | None
    slots: list[Slot]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    resource = make_resource(
        capacity=draw(st.integers(1, 6)),
        zone=draw(st.sampled_from([SHANGHAI, BERLIN])),
        granularity=draw(st.sampled_from([15, 30, 60])),
    )
    start = draw(st.sampled_from(ANCHORS)) + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    span = TimeRange(start, start + timedelta(minutes=draw(st.integers(1, 10 * 1440))))
    count = draw(st.integers(1, 3))
    window_list = [draw(windows(index)) for index in range(count)]

    def around_span(minutes: int) -> datetime:
        return span.start + timedelta(minutes=minutes)

    closures = [
        Closure(
            TimeRange(around_span(offset), around_span(offset + length)), reason=f"closure {number}"
        )
        for number, (offset, length) in enumerate(
            draw(
                st.lists(
                    st.tuples(st.integers(-1440, 11 * 1440), st.integers(1, 2 * 1440)), max_size=3
                )
            )
        )
    ]
    now = around_span(draw(st.integers(-14 * 1440, 11 * 1440)))
    release = draw(release_policies)
    # Holdings are keyed by slot start, so draw them for the slots that exist.
    baseline = compute_slots(resource, window_list, CALENDAR, (), {}, span, now)
    chooser: random.Random = draw(st.randoms(use_true_random=False))
    held = {slot.range.start: chooser.randint(0, 8) for slot in baseline if chooser.random() < 0.3}
    slots = compute_slots(
        resource,
        window_list,
        CALENDAR,
        closures,
        held,
        span,
        now,
        (lambda day: releases_at(release, day, resource.timezone)) if release else None,
    )
    return Case(resource, window_list, closures, held, span, now, release, slots)


PROPERTY_SETTINGS = settings(max_examples=120, deadline=None)


def occurrences_by_window(case: Case) -> dict[str, list[TimeRange]]:
    return {
        window.id: occurrences(window, CALENDAR, case.resource.timezone, case.span)
        for window in case.windows
    }


@PROPERTY_SETTINGS
@given(cases())
def test_every_slot_lies_inside_an_occurrence_of_each_of_its_windows(case: Case) -> None:
    found = occurrences_by_window(case)
    for slot in case.slots:
        assert slot.window_ids
        for window_id in slot.window_ids:
            assert any(o.contains(slot.range) for o in found[window_id]), (slot, window_id)


@PROPERTY_SETTINGS
@given(cases())
def test_every_granule_is_a_slot_or_overlaps_one(case: Case) -> None:
    """Nothing open goes missing: a granule is kept, merged, or dropped for an overlap."""
    step = case.resource.granularity_minutes
    for window_occurrences in occurrences_by_window(case).values():
        for occurrence in window_occurrences:
            for granule in granules(occurrence, step):
                if case.span.contains_instant(granule.start):
                    assert any(slot.range.overlaps(granule) for slot in case.slots), granule


@PROPERTY_SETTINGS
@given(cases())
def test_closed_exactly_when_a_closure_overlaps(case: Case) -> None:
    for slot in case.slots:
        overlapping = [c for c in case.closures if c.range.overlaps(slot.range)]
        assert (slot.status == "closed") == bool(overlapping), slot
        if overlapping:
            assert slot.closure_reason == overlapping[0].reason
        else:
            assert slot.closure_reason is None


@PROPERTY_SETTINGS
@given(cases())
def test_slots_are_sorted_and_never_overlap(case: Case) -> None:
    starts = [slot.range.start for slot in case.slots]
    assert starts == sorted(starts)
    for earlier, later in pairwise(case.slots):
        assert earlier.range.end <= later.range.start


@PROPERTY_SETTINGS
@given(cases())
def test_every_slot_lasts_exactly_the_granularity_in_real_time(case: Case) -> None:
    step = timedelta(minutes=case.resource.granularity_minutes)
    assert all(slot.range.duration == step for slot in case.slots)
    assert all(slot.range.start.tzinfo is not None for slot in case.slots)


@PROPERTY_SETTINGS
@given(cases())
def test_available_and_status_follow_capacity_held_and_time(case: Case) -> None:
    zone = case.resource.timezone
    for slot in case.slots:
        assert slot.held == case.held.get(slot.range.start, 0)
        if slot.status in ("closed", "past"):
            assert slot.available == 0
        else:
            assert slot.available == max(slot.capacity - slot.held, 0)
        if slot.status == "closed":
            continue
        assert (slot.status == "past") == (slot.range.start < case.now), slot
        if slot.status == "past":
            continue
        release = releases_at(case.release, slot.opened_on, zone) if case.release else None
        released = release is None or case.now >= release
        assert (slot.status == "not_released") == (not released), slot
        assert slot.releases_at == (None if released else release)
        if released:
            assert (slot.status == "full") == (slot.held >= slot.capacity), slot
            assert slot.status in ("full", "open")


@PROPERTY_SETTINGS
@given(cases())
def test_every_slot_starts_inside_the_span(case: Case) -> None:
    assert all(case.span.contains_instant(slot.range.start) for slot in case.slots)


@PROPERTY_SETTINGS
@given(cases())
def test_capacity_and_audience_come_from_the_slot_windows(case: Case) -> None:
    by_id = {window.id: window for window in case.windows}
    for slot in case.slots:
        sources = [by_id[window_id] for window_id in slot.window_ids]
        assert len(set(slot.window_ids)) == len(slot.window_ids)
        assert slot.capacity == max(w.capacity or case.resource.capacity for w in sources)
        assert set(slot.audience) == {a for w in sources for a in w.audience}
        assert len(set(slot.audience)) == len(slot.audience)
