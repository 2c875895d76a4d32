"""The demo data set: a realistic slice of Zhoujiadu's five-zone linkage.

Seeding goes through the same services as the API and is idempotent: items that already
exist (by id) are left as they are, so ``scheduler demo`` can run on every start. A few weeks
of bookings in every state (``scheduler.demo_bookings``) are told once, ending at ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.auth.tokens import Principal
from scheduler.bookings.closures import notify_affected
from scheduler.calendar.repositories import CalendarRepository
from scheduler.calendar.schemas import TermCreate
from scheduler.calendar.services import CalendarService
from scheduler.closures.schemas import ClosureCreate
from scheduler.closures.services import ClosureService
from scheduler.core.policy import Policy
from scheduler.core.release import ReleasePolicy
from scheduler.demo_bookings import LOTTERY_COURT, seed_bookings
from scheduler.partners.repositories import PartnerRepository
from scheduler.partners.schemas import PartnerCreate, ZoneKey
from scheduler.partners.services import PartnerService
from scheduler.resources.repositories import ResourceRepository
from scheduler.resources.schemas import ResourceCreate
from scheduler.resources.services import ResourceService
from scheduler.windows.schemas import WindowCreate
from scheduler.windows.services import WindowService

SEEDER = Principal(sub="demo-seeder", role="admin", name="Demo seeder")


@dataclass(frozen=True)
class DemoUser:
    sub: str
    role: str
    name: str
    partner: str | None = None
    community: str | None = None
    communities: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("resident-wang", "resident", "王阿姨 Wang", community="shangnan-1"),
    DemoUser(
        "worker-zhao",
        "worker",
        "赵 Zhao (Shangnan neighbourhood committee)",
        communities=("shangnan-1", "shangnan-2"),
    ),
    DemoUser(
        "partner-shangnan", "partner", "上南中学 facilities office", partner="shangnan-middle"
    ),
    DemoUser("staff-li", "staff", "李 Li (sub-district office)"),
    DemoUser("admin-ops", "admin", "Operations"),
)

# (id, name, zone, contact)
PARTNERS: tuple[tuple[str, str, ZoneKey, str], ...] = (
    ("shangnan-middle", "上南中学 Shangnan Middle School", "campus", "Facilities office"),
    ("zhoujiadu-primary", "周家渡小学 Zhoujiadu Primary School", "campus", "General affairs"),
    ("yucai-primary", "育才小学 Yucai Primary School", "campus", "General affairs"),
    ("jinhua-middle", "进华中学 Jinhua Middle School", "campus", "PE department"),
    (
        "expo-school",
        "世博家园实验小学 Expo Homeland Experimental School",
        "campus",
        "PE department",
    ),
    ("sanlin-sports", "三林体育中心 Sanlin Sports Centre", "office", "Car park office"),
    ("police-camp", "武警营区 Armed-police camp", "camp", "Liaison office"),
    ("wangjiang-station", "望江驿 Wangjiang riverside station", "expo_park", "Station keeper"),
    (
        "shangnan-community",
        "上南居民区 Shangnan neighbourhood committee",
        "residential",
        "Committee office",
    ),
)

SCHOOL_GROUNDS = {
    "shangnan-middle": ("400 m track", "Football pitch", "Basketball courts", "Badminton hall"),
    "zhoujiadu-primary": ("200 m track", "Basketball court", "Table-tennis room"),
    "yucai-primary": ("200 m track", "Basketball court", "Small football pitch"),
    "jinhua-middle": ("300 m track", "Basketball courts", "Volleyball court", "Tennis court"),
    "expo-school": ("200 m track", "Basketball court", "Multi-use court"),
}


def _school_resource(partner_id: str, index: int, name: str) -> ResourceCreate:
    is_track = "track" in name or "pitch" in name
    courts = 2 if name.endswith("courts") else 1
    resource_id = f"{partner_id}-{index + 1}"
    return ResourceCreate(
        id=resource_id,
        partner_id=partner_id,
        name=name,
        kind="sports_field" if is_track else "court",
        capacity=None if not is_track else 60,
        units=None if is_track else [f"Court {n}" for n in range(1, courts + 1)],
        description="Opened to residents outside school hours (错时开放).",
        policy=Policy(
            granularity_minutes=60,
            max_duration_minutes=120,
            horizon_days=14,
            release=None if is_track else ReleasePolicy(days_ahead=7, at="09:00"),
            allocation="lottery" if resource_id == LOTTERY_COURT else "fcfs",
        ),
    )


def demo_resources() -> list[ResourceCreate]:
    resources = [
        _school_resource(partner_id, index, name)
        for partner_id, names in SCHOOL_GROUNDS.items()
        for index, name in enumerate(names)
    ]
    resources += [
        ResourceCreate(
            id="sanlin-tidal-parking",
            partner_id="sanlin-sports",
            name="Tidal car park (潮汐式停车)",
            kind="parking",
            units=[f"B1-{n:03d}" for n in range(1, 151)],
            address="三林体育中心 B1",
            description="Day visitors by day, residents by night (18:00-08:00).",
            policy=Policy(
                granularity_minutes=60,
                min_duration_minutes=60,
                max_duration_minutes=14 * 60,
                horizon_days=31,
            ),
        ),
        ResourceCreate(
            id="camp-reused-room",
            partner_id="police-camp",
            name="Reused business premises, room 1",
            kind="room",
            capacity=1,
            description="Former business premises of the camp, reused for community activities.",
            policy=Policy(
                granularity_minutes=30,
                min_duration_minutes=60,
                max_duration_minutes=240,
                min_lead_minutes=24 * 60,
                horizon_days=30,
                approval="staff",
            ),
        ),
        ResourceCreate(
            id="wangjiang-station-hall",
            partner_id="wangjiang-station",
            name="Wangjiang station service hall",
            kind="room",
            capacity=20,
            address="Riverside, Expo park",
            policy=Policy(
                granularity_minutes=30, min_duration_minutes=30, max_duration_minutes=120
            ),
        ),
        ResourceCreate(
            id="shangnan-elderly-canteen",
            partner_id="shangnan-community",
            name="Elderly canteen (长者食堂) seats",
            kind="canteen",
            capacity=40,
            policy=Policy(
                granularity_minutes=30,
                min_duration_minutes=30,
                max_duration_minutes=60,
                horizon_days=3,
                check_in_required=True,
            ),
        ),
    ]
    return resources


TERMS = (
    ("2026 autumn term (2026秋季学期)", date(2026, 9, 1), date(2027, 1, 22)),
    ("2027 spring term (2027春季学期)", date(2027, 2, 22), date(2027, 7, 2)),
)
EXAM_DAYS = ((date(2027, 1, 18), date(2027, 1, 21), "期末考试 final exams"),)


def demo_windows(resource: ResourceCreate) -> list[WindowCreate]:
    """Realistic opening windows for each kind of demo resource."""
    if resource.partner_id in SCHOOL_GROUNDS:
        return [
            WindowCreate(
                start_time="18:00",
                end_time="21:00",
                day_types=["school_day"],
                label="School-day evenings",
            ),
            WindowCreate(
                start_time="08:00",
                end_time="18:00",
                day_types=["non_school_day"],
                label="Rest days and vacations",
            ),
        ]
    if resource.kind == "parking":
        return [
            WindowCreate(
                start_time="18:00",
                end_time="08:00",
                rrule="FREQ=DAILY",
                audience="residents",
                label="Residents overnight (潮汐夜间)",
            ),
            WindowCreate(
                start_time="08:00",
                end_time="18:00",
                rrule="FREQ=DAILY",
                audience="visitors",
                capacity=100,
                label="Day visitors",
            ),
        ]
    if resource.kind == "room" and resource.partner_id == "police-camp":
        return [
            WindowCreate(
                start_time="09:00", end_time="17:00", day_types=["workday"], label="Office hours"
            )
        ]
    if resource.kind == "canteen":
        return [
            WindowCreate(
                start_time="11:00",
                end_time="13:00",
                rrule="FREQ=DAILY",
                label="Lunch",
                audience=["shangnan-1", "shangnan-2", "shangnan-3"],
            )
        ]
    return [
        WindowCreate(start_time="09:00", end_time="20:00", rrule="FREQ=DAILY", audience="public")
    ]


async def _seed_schedule(session: AsyncSession, now: datetime, data: ResourceCreate) -> None:
    assert data.id is not None
    for window in demo_windows(data):
        await WindowService(session).create(data.id, window, SEEDER, now)
    if data.partner_id in SCHOOL_GROUNDS:
        zone = ZoneInfo(data.timezone or "Asia/Shanghai")
        for first, last, reason in EXAM_DAYS:
            closure = ClosureCreate(
                starts_at=datetime.combine(first, time(), zone),
                ends_at=datetime.combine(last + timedelta(days=1), time(), zone),
                reason=reason,
            )
            await ClosureService(session).create(
                data.id, closure, SEEDER, now, notify=notify_affected
            )


async def seed_demo(
    factory: async_sessionmaker[AsyncSession], now: datetime, default_timezone: str
) -> dict[str, int]:
    """Insert whatever part of the demo data set is missing; returns counts of what was added."""
    added = {"partners": 0, "resources": 0, "bookings": 0}
    async with factory() as session, session.begin():
        partners = PartnerRepository(session)
        for partner_id, name, zone, contact in PARTNERS:
            if await partners.get(partner_id) is None:
                await PartnerService(session).create(
                    PartnerCreate(id=partner_id, name=name, zone=zone, contact_name=contact), now
                )
                added["partners"] += 1
        resources = ResourceRepository(session)
        service = ResourceService(session, default_timezone)
        for data in demo_resources():
            assert data.id is not None
            if not await resources.exists_any(data.id):
                await service.create(data, SEEDER, now)
                await _seed_schedule(session, now, data)
                added["resources"] += 1
        calendar = CalendarRepository(session)
        for partner_id in SCHOOL_GROUNDS:
            if not await calendar.terms(partner_id):
                for name, first, last in TERMS:
                    await CalendarService(session).add_term(
                        partner_id,
                        TermCreate(name=name, starts_on=first, ends_on=last),
                        SEEDER,
                        now,
                    )
    async with factory() as session, session.begin():
        added["bookings"] = await seed_bookings(session, now, default_timezone)
    return added
