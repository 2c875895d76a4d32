"""Who the facilities served: distinct residents, self and proxy bookings, walk-ins, by
community and by tag. Pure: takes booking facts, returns figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from scheduler.core.usage import BOOKED_STATUSES


@dataclass(frozen=True, slots=True)
class Served:
    """One booking as the people report sees it."""

    holder_id: str
    made_by_holder: bool
    walk_in: bool
    status: str
    community: str | None
    tags: tuple[str, ...]


@dataclass(slots=True)
class Figures:
    residents: set[str] = field(default_factory=set)
    bookings: int = 0
    self_made: int = 0
    proxy: int = 0
    walk_ins: int = 0

    def add(self, served: Served) -> None:
        self.residents.add(served.holder_id)
        self.bookings += 1
        self.self_made += served.made_by_holder
        self.proxy += not served.made_by_holder
        self.walk_ins += served.walk_in


@dataclass(slots=True)
class PeopleFigures:
    total: Figures
    by_community: dict[str, Figures]
    by_tag: dict[str, Figures]


NO_COMMUNITY = "(none)"


def people_figures(bookings: Iterable[Served]) -> PeopleFigures:
    """Bookings that served someone (confirmed, checked in, completed or no-show) counted
    overall, per holder's community and per holder's tag (a person with two tags counts in
    both); cancelled, rejected, lost and waiting bookings are left out."""
    total = Figures()
    by_community: dict[str, Figures] = defaultdict(Figures)
    by_tag: dict[str, Figures] = defaultdict(Figures)
    for served in bookings:
        if served.status not in BOOKED_STATUSES:
            continue
        total.add(served)
        by_community[served.community or NO_COMMUNITY].add(served)
        for tag in served.tags:
            by_tag[tag].add(served)
    return PeopleFigures(total, dict(by_community), dict(by_tag))
