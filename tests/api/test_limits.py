"""Documented limits (docs/reliability.md#limits): list sizes on input, windows and closures
per resource, the size and work of an availability answer. Each is refused with a 4xx naming
the field, writing nothing; within the limits everything works."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from icalendar import Calendar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from scheduler.app import create_app
from scheduler.core.limits import MAX_AUDIENCE_CODES, MAX_WINDOW_SLOTS
from scheduler.db.catalogue import Partner, Resource
from scheduler.db.schedule import Closure, OpeningWindow
from scheduler.settings import Settings, load_settings
from tests.support.builders import Tokens, assert_problem, book, make_resource, make_window, ok

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
WINDOW = {"start_time": "18:00", "end_time": "21:00", "rrule": "FREQ=DAILY"}


def fields(problem: dict[str, object]) -> list[str]:
    return [str(item["field"]) for item in problem.get("errors") or []]  # type: ignore[attr-defined, index]


async def count(db, model, resource_id: str) -> int:
    async with db() as session:
        query = select(func.count()).select_from(model).where(model.resource_id == resource_id)
        return int(await session.scalar(query) or 0)


async def test_list_sizes_are_capped_on_input(client, tokens: Tokens, db):
    resource = await make_resource(client, tokens)
    url = f"/api/v1/resources/{resource['id']}/windows"
    codes = [f"c{n}" for n in range(MAX_AUDIENCE_CODES + 1)]
    too_many = await client.post(url, json={**WINDOW, "audience": codes}, headers=tokens.staff())
    assert fields(assert_problem(too_many, 422, "validation_error")) == ["audience"]
    assert await count(db, OpeningWindow, resource["id"]) == 0
    ok(
        await client.post(
            url, json={**WINDOW, "audience": codes[:MAX_AUDIENCE_CODES]}, headers=tokens.staff()
        ),
        201,
    )
    for policy in ({"eligible_tags": [f"t{n}" for n in range(21)]}, {"eligible_tags": ["x" * 65]}):
        refused = await client.patch(
            f"/api/v1/resources/{resource['id']}", json={"policy": policy}, headers=tokens.staff()
        )
        assert 400 <= refused.status_code < 500 and refused.status_code != 404, refused.text
        assert any(field.startswith("policy") for field in fields(refused.json())), refused.text


async def test_windows_and_closures_per_resource_are_capped(settings: Settings, tokens: Tokens, db):
    capped = replace(settings, max_windows_per_resource=3, max_closures_per_resource=2)
    async with AsyncTestClient(app=create_app(capped)) as client:
        resource = await make_resource(client, tokens)
        for start in ("08:00", "10:00", "12:00"):
            await make_window(client, tokens, resource["id"], start_time=start, end_time="09:00")
        refused = await client.post(
            f"/api/v1/resources/{resource['id']}/windows", json=WINDOW, headers=tokens.staff()
        )
        problem = assert_problem(refused, 422, "limit_exceeded")
        assert problem["limit"] == 3 and fields(problem) == ["resource_id"]
        assert await count(db, OpeningWindow, resource["id"]) == 3

        url = f"/api/v1/resources/{resource['id']}/closures"
        for day in ("2026-12-10", "2026-12-11", "2026-12-12"):
            body = {"starts_at": f"{day}T00:00:00+08:00", "ends_at": f"{day}T12:00:00+08:00"}
            response = await client.post(url, json=body, headers=tokens.staff())
        assert assert_problem(response, 422, "limit_exceeded")["limit"] == 2
        assert await count(db, Closure, resource["id"]) == 2


def test_the_caps_are_settings():
    env = {"SCHEDULER_JWT_SECRET": "s" * 32}
    assert load_settings(env).max_windows_per_resource == 50
    assert load_settings(env).max_closures_per_resource == 1000
    loaded = load_settings(
        {
            **env,
            "SCHEDULER_MAX_WINDOWS_PER_RESOURCE": "7",
            "SCHEDULER_MAX_CLOSURES_PER_RESOURCE": "9",
        }
    )
    assert (loaded.max_windows_per_resource, loaded.max_closures_per_resource) == (7, 9)


async def test_availability_lists_each_window_once_and_slots_refer_to_it(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    resource = await make_resource(client, tokens)
    codes = [f"community-{n:02d}" for n in range(MAX_AUDIENCE_CODES)]
    window = await make_window(client, tokens, resource["id"], audience=codes, label="Evening")
    other = await make_window(client, tokens, resource["id"], start_time="20:00", end_time="22:00")
    response = await client.get(
        f"/api/v1/resources/{resource['id']}/availability",
        params={"from": "2026-12-01", "to": "2027-01-31"},
        headers=tokens.resident(),
    )
    answer = ok(response)
    assert [w["id"] for w in answer["windows"]] == [window["id"], other["id"]]
    listed = answer["windows"][0]
    assert listed["audience"] == [f"community:{code}" for code in codes]
    assert listed["label"] == "Evening" and listed["capacity"] is None
    assert len(answer["slots"]) == 62 * 4
    assert all("audience" not in slot and "label" not in slot for slot in answer["slots"])
    both = [slot for slot in answer["slots"] if len(slot["window_ids"]) == 2]
    assert len(both) == 62 and both[0]["window_ids"] == [window["id"], other["id"]]
    # 50 community codes cost their bytes once, not once per slot.
    assert len(response.content) < 100_000


async def test_an_availability_answer_beyond_the_window_slot_cap_is_refused(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    resource = await make_resource(
        client, tokens, policy={"granularity_minutes": 5, "min_duration_minutes": 60}
    )
    await make_window(client, tokens, resource["id"], start_time="00:00", end_time="24:00")
    url = f"/api/v1/resources/{resource['id']}/availability"
    wide = await client.get(
        url, params={"from": "2026-12-01", "to": "2027-01-31"}, headers=tokens.resident()
    )
    problem = assert_problem(wide, 422, "limit_exceeded")
    assert problem["limit"] == MAX_WINDOW_SLOTS and fields(problem) == ["to"]
    month = ok(
        await client.get(
            url, params={"from": "2026-12-01", "to": "2026-12-31"}, headers=tokens.resident()
        )
    )
    assert len(month["slots"]) == 31 * 288


async def test_a_closure_lists_what_it_hits_with_the_total(client, tokens: Tokens, clock):
    clock.set(NOW)
    resource = await make_resource(client, tokens)
    await make_window(client, tokens, resource["id"])
    resident = tokens.resident()
    ok(
        await book(
            client,
            resident,
            resource["id"],
            "2026-12-02T18:00:00+08:00",
            "2026-12-02T19:00:00+08:00",
        ),
        201,
    )
    created = ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures",
            json={"starts_at": "2026-12-02T00:00:00+08:00", "ends_at": "2026-12-03T00:00:00+08:00"},
            headers=tokens.staff(),
        ),
        201,
    )
    assert created["affected_total"] == 1 and len(created["affected_bookings"]) == 1


async def test_a_stored_name_with_a_newline_still_gives_a_valid_calendar(
    client, tokens: Tokens, db, clock
):
    """Names stored before control characters were refused must not break calendar.ics."""
    clock.set(NOW)
    resource = await make_resource(client, tokens)
    await make_window(client, tokens, resource["id"])
    ok(
        await book(
            client,
            tokens.resident(name="王阿姨"),
            resource["id"],
            "2026-12-02T18:00:00+08:00",
            "2026-12-02T19:00:00+08:00",
        ),
        201,
    )
    async with db() as session, session.begin():
        await session.execute(
            update(Resource)
            .where(Resource.id == resource["id"])
            .values(name="Track\r\nBEGIN:VEVENT\nX", address="Line 1\nLine 2")
        )
        await session.execute(
            update(Partner).where(Partner.id == resource["partner_id"]).values(name="School\n2")
        )
    response = await client.get(
        f"/api/v1/resources/{resource['id']}/calendar.ics", headers=tokens.staff()
    )
    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Track BEGIN:VEVENT X — School 2"
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1 and "\n" not in str(events[0]["SUMMARY"])
    assert str(events[0]["LOCATION"]) == "Track BEGIN:VEVENT X, Line 1 Line 2"
