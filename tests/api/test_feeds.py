"""Calendar feeds through HTTP, read back with the maintained ``icalendar`` parser: the feed
token's life, what events carry, how they change, and who may read a resource's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component

from scheduler.core.ical import ICAL_STATUS
from scheduler.db.bookings import STATUSES
from scheduler.settings import Settings
from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
    unique,
)

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")
LATER = ("2026-12-01T20:00:00+08:00", "2026-12-01T21:00:00+08:00")
ADDRESS = "上海市浦东新区浦三路 21 弄"
CALENDAR_TYPE = "text/calendar; charset=utf-8"


@pytest.fixture
def at_eight(clock):
    clock.set(NOW)
    return clock


async def court(client, tokens: Tokens, partner_id: str | None = None, **fields: Any):
    resource = await make_resource(
        client,
        tokens,
        partner_id,
        name="篮球场",
        kind="court",
        capacity=None,
        units=["Court 1", "Court 2"],
        address=ADDRESS,
        **fields,
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    return resource


async def issue(client, headers: dict[str, str]) -> dict[str, Any]:
    return ok(await client.post("/api/v1/feeds", headers=headers), 201)


async def fetch(client, url: str) -> Calendar:
    """GET a calendar without any header, as a calendar app does, and parse it."""
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CALENDAR_TYPE
    assert response.headers["cache-control"] == "no-store"  # never kept by shared caches
    return Calendar.from_ical(response.content)


def feed_path(token: str) -> str:
    return f"/api/v1/feeds/{token}.ics"


def events(calendar: Calendar) -> dict[str, Component]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(booking: dict[str, Any]) -> str:
    return f"{booking['id']}@zhoujiadu-scheduler"


def test_every_booking_status_has_a_calendar_status():
    assert set(ICAL_STATUS) == set(STATUSES)
    assert set(ICAL_STATUS.values()) == {"CONFIRMED", "TENTATIVE", "CANCELLED"}


async def test_feed_lifecycle(client, tokens: Tokens, settings: Settings, at_eight):
    sub = unique("feeder")
    me, stranger = tokens.resident(sub=sub), tokens.resident()
    issued = await issue(client, me)
    token = issued["token"]
    assert len(token) == 43
    assert issued["url"] == f"{settings.public_url}/api/v1/feeds/{token}.ics"
    assert issued["created_at"].startswith("2026-12-01T00:00:00")
    calendar = await fetch(client, feed_path(token))
    assert str(calendar["X-WR-CALNAME"]) == "周家渡共享设施预约 Zhoujiadu bookings"
    assert calendar.walk("VEVENT") == []
    await fetch(client, f"/api/v1/feeds/{token}")  # the suffix is optional
    second = await issue(client, me)
    assert second["token"] != token

    assert_problem(await client.delete(feed_path(token), headers=stranger), 404, "not_found")
    assert_problem(await client.delete(feed_path(token)), 401, "unauthenticated")
    ok(await client.delete(f"/api/v1/feeds/{token}", headers=me), 204)
    assert_problem(await client.get(feed_path(token)), 404, "not_found")
    assert_problem(await client.delete(feed_path(token), headers=me), 404, "not_found")
    await fetch(client, feed_path(second["token"]))  # other tokens live on


@pytest.mark.parametrize("token", ["nope", "x" * 43, "%00" * 20, "a" * 70])
async def test_unknown_tokens_are_404(client, token: str):
    assert_problem(await client.get(f"/api/v1/feeds/{token}.ics"), 404, "not_found")


async def test_issuing_needs_a_bearer_token(client):
    assert_problem(await client.post("/api/v1/feeds"), 401, "unauthenticated")


async def test_events_carry_time_zone_location_and_status(client, tokens: Tokens, at_eight):
    sub = unique("wang")
    me = tokens.resident(sub=sub, name="王阿姨")
    resource = await court(client, tokens)
    booking = ok(await book(client, me, resource["id"], *EVENING, unit="Court 2"), 201)
    feed = (await issue(client, me))["url"].removeprefix("http://127.0.0.1:8000")

    calendar = await fetch(client, feed)
    event = events(calendar)[uid(booking)]
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTSTART"].dt == datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI)
    assert event["DTEND"].dt == datetime(2026, 12, 1, 19, 0, tzinfo=SHANGHAI)
    assert event["DTSTART"].dt.tzinfo.key == "Asia/Shanghai"
    assert str(event["SUMMARY"]) == "篮球场 Court 2 — 上南中学 Shangnan Middle School"
    assert str(event["LOCATION"]) == f"篮球场, {ADDRESS}"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["SEQUENCE"] == 1
    assert event["DTSTAMP"].dt == datetime.fromisoformat(booking["updated_at"])
    assert event["LAST-MODIFIED"].dt == event["DTSTAMP"].dt
    assert "已确认 (confirmed)" in event["DESCRIPTION"]
    assert "人数 Quantity: 1" in event["DESCRIPTION"]
    assert "王阿姨" not in calendar.to_ical().decode()  # the holder knows who they are


async def test_cancelling_keeps_the_uid_and_raises_the_sequence(client, tokens: Tokens, clock):
    clock.set(NOW)
    me = tokens.resident(sub=unique("li"))
    resource = await court(client, tokens)
    booking = ok(await book(client, me, resource["id"], *EVENING), 201)
    feed = feed_path((await issue(client, me))["token"])
    before = events(await fetch(client, feed))[uid(booking)]

    clock.set(NOW + timedelta(minutes=5))
    cancelled = ok(await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=me))
    after = events(await fetch(client, feed))[uid(booking)]
    assert str(after["STATUS"]) == "CANCELLED"
    assert after["SEQUENCE"] == cancelled["version"] > before["SEQUENCE"]
    assert after["DTSTAMP"].dt == NOW + timedelta(minutes=5) > before["DTSTAMP"].dt
    assert str(after["SUMMARY"]).startswith("[已取消] 篮球场")
    assert str(after["TRANSP"]) == "TRANSPARENT"
    assert after["DTSTART"].dt == before["DTSTART"].dt


async def test_pending_is_tentative_and_rejected_is_cancelled(client, tokens: Tokens, at_eight):
    me = tokens.resident(sub=unique("zhao"))
    resource = await court(client, tokens, policy={"approval": "staff"})
    pending = ok(await book(client, me, resource["id"], *EVENING), 201)
    rejected = ok(await book(client, me, resource["id"], *LATER), 201)
    ok(await client.post(f"/api/v1/bookings/{rejected['id']}/reject", headers=tokens.staff()))
    found = events(await fetch(client, feed_path((await issue(client, me))["token"])))
    assert str(found[uid(pending)]["STATUS"]) == "TENTATIVE"
    assert str(found[uid(pending)]["SUMMARY"]).startswith("[待审批] ")
    assert str(found[uid(rejected)]["STATUS"]) == "CANCELLED"


async def test_feed_shows_only_the_holders_bookings_in_its_span(client, tokens: Tokens, clock):
    me_sub = unique("zhou")
    me = tokens.resident(sub=me_sub)
    resource = await court(client, tokens)
    clock.set(NOW - timedelta(days=45))
    long_ago = ok(
        await book(
            client, me, resource["id"], "2026-10-17T18:00:00+08:00", "2026-10-17T19:00:00+08:00"
        ),
        201,
    )
    clock.set(NOW - timedelta(days=10))
    recent = ok(
        await book(
            client, me, resource["id"], "2026-11-21T18:00:00+08:00", "2026-11-21T19:00:00+08:00"
        ),
        201,
    )
    clock.set(NOW)
    mine = ok(await book(client, me, resource["id"], *EVENING), 201)
    theirs = ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    found = events(await fetch(client, feed_path((await issue(client, me))["token"])))
    assert set(found) == {uid(recent), uid(mine)}
    assert uid(long_ago) not in found and uid(theirs) not in found


async def test_each_zone_gets_its_vtimezone(client, tokens: Tokens, at_eight):
    me = tokens.resident(sub=unique("hu"))
    here = await court(client, tokens)
    berlin = await court(client, tokens, timezone="Europe/Berlin")
    ok(await book(client, me, here["id"], *EVENING), 201)
    away = ok(
        await book(
            client, me, berlin["id"], "2026-12-01T18:00:00+01:00", "2026-12-01T19:00:00+01:00"
        ),
        201,
    )
    calendar = await fetch(client, feed_path((await issue(client, me))["token"]))
    zones = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    assert zones == {"Asia/Shanghai", "Europe/Berlin"}
    event = events(calendar)[uid(away)]
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


async def test_resource_calendar_permissions(client, tokens: Tokens, at_eight):
    partner = await make_partner(client, tokens)
    other = await make_partner(client, tokens)
    resource = await court(client, tokens, partner["id"])
    url = f"/api/v1/resources/{resource['id']}/calendar.ics"
    for headers in (tokens.partner(partner["id"]), tokens.staff(), tokens.admin()):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200 and response.headers["content-type"] == CALENDAR_TYPE
    assert_problem(await client.get(url, headers=tokens.partner(other["id"])), 403, "forbidden")
    assert_problem(await client.get(url, headers=tokens.resident()), 403, "forbidden")
    assert_problem(await client.get(url), 401, "unauthenticated")
    missing = "/api/v1/resources/no-such-resource/calendar.ics"
    assert_problem(await client.get(missing, headers=tokens.staff()), 404, "not_found")


async def test_resource_calendar_names_holders_of_active_bookings(client, tokens: Tokens, at_eight):
    partner = await make_partner(client, tokens, name="上南中学")
    resource = await court(client, tokens, partner["id"])
    wang = tokens.resident(sub=unique("wang"), name="王阿姨")
    chen = tokens.resident(sub=unique("chen"), name="陈老伯")
    kept = ok(await book(client, wang, resource["id"], *EVENING, unit="Court 1"), 201)
    gone = ok(await book(client, chen, resource["id"], *EVENING, unit="Court 2"), 201)
    ok(await client.post(f"/api/v1/bookings/{gone['id']}/cancel", headers=chen))
    url = f"/api/v1/resources/{resource['id']}/calendar.ics"
    response = await client.get(url, headers=tokens.partner(partner["id"]))
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "篮球场 — 上南中学"
    found = events(calendar)
    assert set(found) == {uid(kept)}
    assert str(found[uid(kept)]["SUMMARY"]) == "王阿姨 — 篮球场 Court 1"
    assert "预约人 Holder: 王阿姨" in found[uid(kept)]["DESCRIPTION"]

    narrow = {"from": "2026-12-02", "to": "2026-12-05"}
    empty = await client.get(url, params=narrow, headers=tokens.staff())
    assert Calendar.from_ical(empty.content).walk("VEVENT") == []
    reversed_span = {"from": "2026-12-05", "to": "2026-12-01"}
    assert_problem(
        await client.get(url, params=reversed_span, headers=tokens.staff()), 422, "validation_error"
    )
    too_long = {"from": "2026-01-01", "to": "2027-12-31"}
    assert_problem(
        await client.get(url, params=too_long, headers=tokens.staff()), 422, "validation_error"
    )


async def test_chinese_text_round_trips(client, tokens: Tokens, at_eight):
    partner = await make_partner(client, tokens, name="周家渡街道社区文化活动中心（上南路）")
    name = "多功能活动室（二楼）——适合老年人太极拳、广场舞排练与社区议事会"
    resource = await make_resource(
        client, tokens, partner["id"], name=name, kind="room", capacity=20, address=ADDRESS
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    me = tokens.resident(sub=unique("sun"), name="孙奶奶")
    note = "带孙子一起来，需要轮椅通道；谢谢！😀"
    booking = ok(await book(client, me, resource["id"], *EVENING, quantity=2, note=note), 201)
    response = await client.get(feed_path((await issue(client, me))["token"]))
    for line in response.content.split(b"\r\n"):
        assert len(line) <= 75  # folded by octets, never inside a UTF-8 sequence
        line.decode("utf-8")
    event = events(Calendar.from_ical(response.content))[uid(booking)]
    assert str(event["SUMMARY"]) == f"{name} — {partner['name']}"
    assert str(event["LOCATION"]) == f"{name}, {ADDRESS}"
    assert f"备注 Note: {note}" in event["DESCRIPTION"]
    assert "人数 Quantity: 2" in event["DESCRIPTION"]
