"""What the scheduled duties last did, and whether one is overdue.

The leader records every run here, in memory (so its own ``/health`` needs no database), and
mirrors the record into ``duty_runs`` after each round of duties (so standbys and
``serve --no-jobs`` replicas can tell too). Times are wall-clock: the schedule runs on real
time whatever clock the duties are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ERROR_TEXT_LIMIT = 200


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class DutyState:
    """The last run of one duty (``runs`` and ``failures`` since this process led)."""

    name: str
    last_started_at: datetime | None = None
    last_succeeded_at: datetime | None = None
    last_failed_at: datetime | None = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0


def summarise(error: BaseException) -> str:
    """The error's type and first line, without the SQL and parameters SQLAlchemy appends:
    enough to tell a locked database from a bug, short enough for a public probe."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return text[:ERROR_TEXT_LIMIT]


def bound_for(period_seconds: float, stale_seconds: int) -> timedelta:
    """How long a duty may go without a successful run: the configured bound, and never less
    than two of its periods (a duty that runs every 30 s is not late after 20 s)."""
    return timedelta(seconds=max(stale_seconds, 2 * period_seconds))


def is_overdue(
    last_succeeded_at: datetime | None, watched_since: datetime, bound: timedelta, now: datetime
) -> bool:
    """True when the duty has not succeeded within ``bound``, counting from when watching
    began at the earliest (a process that just started or took over is given the bound)."""
    reference = max(last_succeeded_at or watched_since, watched_since)
    return now - reference > bound


class DutyMonitor:
    """Per-duty records of the process that leads, and the heartbeat its watchdog checks."""

    def __init__(
        self,
        periods: Mapping[str, float],
        stale_seconds: int,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.periods = dict(periods)
        self.stale_seconds = stale_seconds
        self.clock = clock
        self.since = clock()
        self.states = {name: DutyState(name) for name in self.periods}

    def _state(self, name: str) -> DutyState:
        return self.states.setdefault(name, DutyState(name))

    def started(self, name: str) -> None:
        state = self._state(name)
        state.last_started_at = self.clock()
        state.runs += 1

    def succeeded(self, name: str) -> None:
        self._state(name).last_succeeded_at = self.clock()

    def failed(self, name: str, error: BaseException) -> None:
        state = self._state(name)
        state.last_failed_at = self.clock()
        state.last_error = summarise(error)
        state.failures += 1

    def bound(self, name: str) -> timedelta:
        return bound_for(self.periods.get(name, 0), self.stale_seconds)

    def overdue(self, now: datetime | None = None) -> list[str]:
        """The watched duties that have not succeeded within their bound."""
        moment = now or self.clock()
        return [
            name
            for name in self.periods
            if is_overdue(self.states[name].last_succeeded_at, self.since, self.bound(name), moment)
        ]

    def snapshot(self) -> Iterable[DutyState]:
        return [DutyState(**vars(state)) for state in self.states.values()]
