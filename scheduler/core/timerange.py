"""Half-open time ranges ``[start, end)`` over aware UTC datetimes.

Half-open so that back-to-back intervals (18:00-19:00 and 19:00-20:00) never overlap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("TimeRange needs aware datetimes")
        if not self.start < self.end:
            raise ValueError(f"empty or reversed range {self.start} .. {self.end}")

    @classmethod
    def utc(cls, start: datetime, end: datetime) -> TimeRange:
        return cls(start.astimezone(UTC), end.astimezone(UTC))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeRange) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_instant(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def intersect(self, other: TimeRange) -> TimeRange | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return TimeRange(start, end) if start < end else None


def subtract(ranges: Iterable[TimeRange], holes: Iterable[TimeRange]) -> list[TimeRange]:
    """The parts of ``ranges`` not covered by any of ``holes``, in order."""
    sorted_holes = sorted(holes)
    result: list[TimeRange] = []
    for piece in sorted(ranges):
        cursor = piece.start
        for hole in sorted_holes:
            if hole.end <= cursor or hole.start >= piece.end:
                continue
            if hole.start > cursor:
                result.append(TimeRange(cursor, hole.start))
            cursor = max(cursor, hole.end)
            if cursor >= piece.end:
                break
        if cursor < piece.end:
            result.append(TimeRange(cursor, piece.end))
    return sorted(result)


def merge(ranges: Iterable[TimeRange]) -> list[TimeRange]:
    """Union of ``ranges`` as sorted, non-overlapping, non-touching ranges."""
    merged: list[TimeRange] = []
    for current in sorted(ranges):
        if merged and current.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = TimeRange(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged
