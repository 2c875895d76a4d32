"""Fast-forwarding rules: expanding from just before the range gives exactly the dates that
expanding from the window's own start (``valid_from``, perhaps 2000) gives."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.calendar import DayCalendar
from scheduler.core.windows import Window, open_dates

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 13))}"]
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        ordinal = draw(st.sampled_from(["", "1", "2", "-1"])) if freq == "MONTHLY" else ""
        parts.append("BYDAY=" + ",".join(ordinal + day for day in days))
    elif freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, 29, 30, 31, -1]))}")
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if draw(st.booleans()):
        parts.append("WKST=" + draw(st.sampled_from(["MO", "SU"])))
    return ";".join(parts)


@settings(max_examples=150, deadline=None)
@given(
    rule=rules(),
    valid_from=st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    gap=st.integers(0, 40 * 366),
    length=st.integers(0, 62),
)
def test_fast_forwarded_expansion_equals_expansion_from_the_start(
    rule: str, valid_from: date, gap: int, length: int
) -> None:
    first = valid_from + timedelta(days=gap)
    last = first + timedelta(days=length)
    window = Window(id="w", start_time=time(8), end_time=time(9), rrule=rule, valid_from=valid_from)
    reference = rrulestr(rule, dtstart=datetime.combine(valid_from, time()))
    expected = [
        moment.date()
        for moment in reference.between(
            datetime.combine(first, time()), datetime.combine(last, time()), inc=True
        )
    ]
    assert list(open_dates(window, DayCalendar(), first, last)) == expected, rule
