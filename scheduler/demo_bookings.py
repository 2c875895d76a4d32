"""Demo bookings: three weeks of a neighbourhood's bookings, told as a story ending at ``now``.

Every step goes through the real services (booking, lifecycle, lottery draw, the time-driven
duties) with the story's own clock, which only moves forward; the nightly duties run on the
way, so past bookings complete, no-shows and expiries happen as they would have. Slots are
chosen from real availability, so the story fits whatever the calendar says about the days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.services import AvailabilityService
from scheduler.bookings.draws import DrawService
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.schemas import BookingCreate, OnBehalfOf, SeriesCreate
from scheduler.bookings.series import SeriesService
from scheduler.bookings.services import BookingService
from scheduler.core.booking_fields import FieldValue
from scheduler.core.lifecycle import Action
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.duties.services import DutyService
from scheduler.users.services import UserService

TRACK, TRACK2, BADMINTON = "shangnan-middle-1", "jinhua-middle-1", "shangnan-middle-4"
LOTTERY_COURT = "shangnan-middle-3"  # two basketball courts, allocated by lottery at release
WAIT_COURT = "zhoujiadu-primary-2"  # one basketball court, first come first served
PARKING, ROOM = "sanlin-tidal-parking", "camp-reused-room"
CANTEEN = "shangnan-elderly-canteen"  # check-in required: an empty seat is a no-show
NIGHTLY = time(22, 0)  # when the story runs the duties each day
STAFF = Principal(sub="staff-li", role="staff", name="李 Li (sub-district office)")


@dataclass(frozen=True)
class Resident:
    sub: str
    name: str
    community: str
    elderly: bool = False  # no smartphone: staff book on their behalf
    tags: tuple[str, ...] = ()

    @property
    def principal(self) -> Principal:
        return Principal(
            sub=self.sub, role="resident", name=self.name, community=self.community, tags=self.tags
        )


WANG = Resident("resident-wang", "王阿姨 Wang", "shangnan-1")
ZHANG = Resident("resident-zhang-laoshi", "张老师", "shangnan-1")
LI = Resident("resident-li-daye", "李大爷", "shangnan-2", elderly=True)
# A taxi driver with a visitor pass: parks by day (visitors) and by night (residents).
CHEN = Resident("resident-chen", "陈师傅", "shangnan-3", tags=("visitor",))
ZHAO = Resident("resident-zhao-apo", "赵阿婆", "shangnan-2", elderly=True)
WU = Resident("resident-wu-nainai", "吴奶奶", "shangnan-3", elderly=True)
LIU = Resident("resident-liu", "刘先生", "shangnan-1")
SUN = Resident("resident-sun", "孙阿姨", "shangnan-2")
ZHOU = Resident("resident-zhou", "周大哥", "shangnan-3")
XU = Resident("resident-xu", "徐女士", "shangnan-1")
RESIDENTS = (WANG, ZHANG, LI, CHEN, ZHAO, WU, LIU, SUN, ZHOU, XU)

Span = tuple[datetime, datetime]
CHEN_CAR: dict[str, FieldValue] = {"plate": "沪AD2468"}


def room(purpose: str, attendees: int, organiser: str) -> dict[str, FieldValue]:
    """The booking fields of the camp room."""
    return {"purpose": purpose, "attendees": attendees, "organiser": organiser}


class Story:
    """The seeding session with a clock that only moves forward, to the real ``end``."""

    def __init__(self, session: AsyncSession, end: datetime, zone: ZoneInfo) -> None:
        self.session, self.end, self.zone = session, end, zone
        self.today: date = end.astimezone(zone).date()
        self.now = self.day(-22, "09:00")
        self.made = 0

    def day(self, offset: int, clock: str) -> datetime:
        """Local ``clock`` time ``offset`` days from today."""
        return datetime.combine(
            self.today + timedelta(days=offset), time.fromisoformat(clock), self.zone
        )

    async def go(self, moment: datetime) -> None:
        """Move the clock forward (never back), running the nightly duties on the way."""
        night = datetime.combine(self.now.astimezone(self.zone).date(), NIGHTLY, self.zone)
        while night < moment:
            if night > self.now:
                await self.tick(night)
            night += timedelta(days=1)
        self.now = max(self.now, moment)

    async def tick(self, moment: datetime | None = None) -> None:
        """The job runner's duties, due at ``moment`` (default: the story's now)."""
        now, duties = moment or self.now, DutyService(self.session)
        await duties.draw_due(now)
        await duties.expire_pending(now)
        await duties.lapse_offers(now)
        await duties.offer_waitlist(now)
        await duties.finish_ended(now)

    async def free(
        self, resource_id: str, after: datetime, hours: int = 1, status: str = "open"
    ) -> Span:
        """The first run of ``hours`` consecutive slots with ``status`` from ``after``."""
        resource = await self.session.get(Resource, resource_id)
        assert resource is not None, resource_id
        span = TimeRange(after, after + timedelta(days=7))
        slots = await AvailabilityService(self.session).slots(resource, span, self.now)
        run: list[TimeRange] = []
        for slot in sorted(slots, key=lambda s: s.range.start):
            if slot.status != status or slot.available < 1:
                run = []
                continue
            if run and run[-1].end != slot.range.start:
                run = []
            run.append(slot.range)
            if run[-1].end - run[0].start >= timedelta(hours=hours):
                return run[0].start, run[-1].end
        raise LookupError(f"no {status} {hours} h on {resource_id} after {after}")

    async def caller(self, who: Resident) -> Principal:
        """Staff for the elderly; the resident themself (provisioned as on a request)."""
        if who.elderly:
            return STAFF
        await UserService(self.session).provision(who.principal, self.now)
        return who.principal

    def request(self, who: Resident, resource_id: str, span: Span, **options: Any) -> BookingCreate:
        """The request body; ``options`` are further ``BookingCreate`` fields (quantity…)."""
        proxy = OnBehalfOf(sub=who.sub, name=who.name, community=who.community)
        return BookingCreate(
            resource_id=resource_id,
            starts_at=span[0],
            ends_at=span[1],
            on_behalf_of=proxy if who.elderly else None,
            **options,
        )

    async def book(self, who: Resident, resource_id: str, span: Span, **options: Any) -> Booking:
        data = self.request(who, resource_id, span, **options)
        booking = await BookingService(self.session).create(data, await self.caller(who), self.now)
        self.made += 1
        return booking

    async def visit(
        self, who: Resident, resource_id: str, after: datetime, hours: int = 1, **options: Any
    ) -> Booking:
        """Book the first free time from ``after``."""
        span = await self.free(resource_id, after, hours)
        return await self.book(who, resource_id, span, **options)

    async def series(
        self,
        who: Resident,
        resource_id: str,
        span: Span,
        rule: str,
        unit: str,
        fields: dict[str, FieldValue],
    ) -> None:
        """Every occurrence that can be booked (best effort), each on ``unit`` where free."""
        request = self.request(who, resource_id, span, unit=unit, fields=fields)
        single = msgspec.structs.asdict(request)
        data = SeriesCreate(**single, rrule=rule, mode="best_effort")
        made = await SeriesService(self.session).create(data, await self.caller(who), self.now)
        self.made += made.booked

    async def decide(self, booking: Booking, action: Action, note: str) -> None:
        await BookingLifecycle(self.session).decide(booking.id, action, STAFF, note, None, self.now)

    async def cancel(self, booking: Booking, who: Resident, reason: str) -> None:
        await BookingLifecycle(self.session).cancel(
            booking.id, who.principal, reason, None, self.now
        )

    async def check_in(self, booking: Booking, by: Principal, late: timedelta) -> None:
        await self.go(booking.starts_at + late)
        await BookingLifecycle(self.session).check_in(booking.id, by, None, self.now)


async def _week_three(s: Story) -> None:
    """Evenings on the grounds, a night's parking, the camp room approved and refused, and a
    lottery for a hot court drawn at its release."""
    await s.go(s.day(-21, "09:30"))
    await s.visit(ZHANG, TRACK, s.day(-20, "18:00"), note="晚饭后慢跑 evening jog")
    await s.visit(WANG, TRACK2, s.day(-19, "18:00"), quantity=2, note="带孙子 with grandson")
    await s.visit(CHEN, PARKING, s.day(-20, "18:00"), hours=14, fields=CHEN_CAR)
    await s.go(s.day(-20, "10:00"))
    rehearsal = await s.visit(
        SUN, ROOM, s.day(-18, "14:00"), 2, fields=room("广场舞队排练 dance team", 16, "孙阿姨")
    )
    meeting = await s.visit(
        LIU, ROOM, s.day(-17, "09:00"), 2, fields=room("业委会 owners' meeting", 9, "刘先生")
    )
    await s.go(s.day(-19, "09:15"))
    await s.decide(rehearsal, "approve", "已通知营区联络员开门 camp liaison will open up")
    await s.decide(meeting, "reject", "营区当天有内部活动，请改约 camp event that day")
    await s.go(s.day(-18, "10:00"))
    hot = await s.free(LOTTERY_COURT, s.day(-10, "00:00"), status="not_released")
    entries = [await s.book(who, LOTTERY_COURT, hot) for who in (LIU, ZHOU, XU, ZHANG, CHEN)]
    release = entries[0].draw_at
    assert release is not None
    await s.go(release)
    await DrawService(s.session).draw(LOTTERY_COURT, release, s.now)


async def _week_two(s: Story) -> None:
    """A room request nobody decided, lunch seats (one left empty), and a waitlist offer
    that lapses after its holder cancelled."""
    await s.go(s.day(-14, "09:30"))
    await s.visit(ZHANG, TRACK, s.day(-13, "18:00"))
    await s.visit(XU, BADMINTON, s.day(-12, "18:00"), 2, note="羽毛球 doubles")
    await s.visit(WANG, TRACK2, s.day(-10, "08:00"), quantity=3)
    await s.go(s.day(-13, "10:00"))
    await s.visit(
        ZHOU, ROOM, s.day(-11, "14:00"), 2, fields=room("象棋比赛 chess match", 12, "周大哥")
    )
    await s.go(s.day(-12, "16:00"))
    lunch = await s.visit(
        ZHAO, CANTEEN, s.day(-11, "11:00"), fields={"meal": "软食 soft", "diet": "少盐 low salt"}
    )
    await s.visit(WU, CANTEEN, s.day(-11, "11:30"), fields={"meal": "标准餐 standard"})
    await s.check_in(lunch, STAFF, timedelta(minutes=5))
    await s.go(s.day(-9, "12:00"))
    game = await s.visit(LIU, WAIT_COURT, s.day(-7, "18:00"), note="三对三 3-on-3")
    late = await s.book(ZHOU, WAIT_COURT, (game.starts_at, game.ends_at), waitlist=True)
    await s.go(s.day(-8, "19:30"))
    await s.cancel(game, LIU, "临时加班，去不了了 working late, can't come")
    await s.tick()
    assert late.offer_expires_at is not None
    await s.go(late.offer_expires_at + timedelta(minutes=1))
    await s.tick()


async def _last_week(s: Story) -> None:
    await s.go(s.day(-7, "09:30"))
    await s.visit(WANG, TRACK, s.day(-6, "18:00"), quantity=2)
    await s.visit(CHEN, PARKING, s.day(-5, "18:00"), hours=14, fields=CHEN_CAR)
    await s.visit(ZHOU, WAIT_COURT, s.day(-4, "18:00"))
    jog = await s.visit(ZHANG, TRACK, s.day(-3, "18:00"), note="晚饭后慢跑 evening jog")
    await s.check_in(jog, ZHANG.principal, timedelta(minutes=3))


async def _upcoming(s: Story) -> None:
    """Yesterday staff booked 李大爷 two weeks of nights; a few hours ago residents booked the
    coming evenings, asked for the room and entered next week's court lottery."""
    await s.go(s.end - timedelta(hours=26))
    night = (s.day(0, "18:00"), s.day(1, "08:00"))
    await s.series(LI, PARKING, night, "FREQ=DAILY;COUNT=14", "B1-017", {"plate": "沪B36912"})
    await s.go(s.end - timedelta(hours=5))
    await s.visit(ZHANG, TRACK, s.day(1, "18:00"), note="晚饭后慢跑 evening jog")
    await s.visit(WANG, TRACK2, s.day(2, "18:00"), quantity=2, note="带孙子 with grandson")
    await s.visit(XU, BADMINTON, s.day(3, "18:00"), 2)
    await s.visit(
        SUN, ROOM, s.day(3, "09:00"), 3, fields=room("社区合唱团排练 choir rehearsal", 20, "孙阿姨")
    )
    hot = await s.free(LOTTERY_COURT, s.day(8, "00:00"), status="not_released")
    for who in (LIU, ZHOU, CHEN):
        await s.book(who, LOTTERY_COURT, hot)
    await _tonight(s)


async def _tonight(s: Story) -> None:
    """陈师傅 is parked right now; 刘先生 gives up his court, so 周大哥 gets an offer while
    徐女士 keeps waiting."""
    hour = s.end.replace(minute=0, second=0, microsecond=0)
    parked = await s.book(
        CHEN, PARKING, (hour - timedelta(hours=1), hour + timedelta(hours=2)), fields=CHEN_CAR
    )
    game = await s.visit(LIU, WAIT_COURT, s.day(2, "18:00"))
    for who in (ZHOU, XU):
        await s.book(who, WAIT_COURT, (game.starts_at, game.ends_at), waitlist=True)
    await s.check_in(parked, CHEN.principal, timedelta(minutes=5))
    await s.go(s.end - timedelta(minutes=2))
    await s.cancel(game, LIU, "孩子要补课 the kid has a class")
    await s.tick()
    await s.go(s.end)
    await s.tick()


async def seed_bookings(session: AsyncSession, now: datetime, timezone: str) -> int:
    """Seed the story once: only while the demo resources hold no bookings at all, and only
    on a catalogue whose policies the story relies on. Returns how many bookings it made."""
    marker = select(Booking.id).where(Booking.resource_id.in_((TRACK, PARKING, ROOM)))
    if (await session.scalars(marker.limit(1))).first() is not None:
        return 0
    court = await session.get(Resource, LOTTERY_COURT)
    canteen = await session.get(Resource, CANTEEN)
    if not (court and canteen and court.policy.get("allocation") == "lottery"):
        return 0
    if not canteen.policy.get("check_in_required"):
        return 0
    parking = await session.get(Resource, PARKING)
    if parking is None or not any(f.get("name") == "plate" for f in parking.booking_fields):
        return 0  # a catalogue seeded before booking fields: the story's values would not fit
    story = Story(session, now, ZoneInfo(timezone))
    for scene in (_week_three, _week_two, _last_week, _upcoming):
        await scene(story)
    users = UserService(session)
    for resident in RESIDENTS:
        if resident.elderly:
            await users.set_tags(resident.sub, ["elderly"])
    return story.made
