"""The per-process facts cache never serves facts older than the request's own reads.

Database triggers (migration 0015) change the versions on every write of the cached tables,
so these tests also write behind the app's back, through a separate engine (another process
as far as the app can tell), and the next request still sees the change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from scheduler.availability.facts import RecentAlternatives
from scheduler.core.refusals import Alternative
from tests.support.builders import Tokens, assert_problem, book, make_resource, make_window, ok

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")


@pytest.fixture
def at_eight(clock):
    clock.set(NOW)
    return clock


async def _warm_track(client, tokens: Tokens, capacity: int = 10):
    resource = await make_resource(client, tokens, capacity=capacity)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)  # now cached
    return resource


async def test_a_closure_added_through_the_api_refuses_the_next_booking(
    client, tokens: Tokens, at_eight
):
    resource = await _warm_track(client, tokens)
    closure = {"starts_at": EVENING[0], "ends_at": EVENING[1], "reason": "exam"}
    url = f"/api/v1/resources/{resource['id']}/closures"
    ok(await client.post(url, json=closure, headers=tokens.staff()), 201)
    assert_problem(await book(client, tokens.resident(), resource["id"], *EVENING), 409, "closed")


async def test_writes_behind_the_apps_back_are_seen_by_the_next_request(
    client, db, tokens: Tokens, at_eight
):
    resource = await _warm_track(client, tokens, capacity=2)
    async with db() as session, session.begin():
        await session.execute(
            text("UPDATE resources SET capacity = 1 WHERE id = :id"), {"id": resource["id"]}
        )
    # One place was taken by the warm-up booking; the capacity is now 1: full.
    response = await book(client, tokens.resident(), resource["id"], *EVENING)
    assert_problem(response, 409, "capacity")
    async with db() as session, session.begin():
        await session.execute(
            text("DELETE FROM opening_windows WHERE resource_id = :id"), {"id": resource["id"]}
        )
        await session.execute(
            text("UPDATE resources SET capacity = 5 WHERE id = :id"), {"id": resource["id"]}
        )
    response = await book(client, tokens.resident(), resource["id"], *EVENING)
    assert_problem(response, 409, "outside_window")


async def _versions(db, resource_id: str) -> tuple[int, int]:
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT facts_version FROM resources WHERE id = :id), "
                    "(SELECT version FROM calendar_version WHERE id = 1)"
                ),
                {"id": resource_id},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_every_write_of_a_cached_table_changes_a_version(client, db, tokens: Tokens):
    resource = await make_resource(client, tokens)
    rid, pid = resource["id"], resource["partner_id"]
    stamp = "2026-12-01 00:00:00+00:00"
    writes = [
        ("resource", "UPDATE resources SET name = 'renamed' WHERE id = :rid"),
        ("resource", "UPDATE partners SET zone = 'office' WHERE id = :pid"),
        (
            "resource",
            "INSERT INTO opening_windows (id, resource_id, label, rrule, day_types, start_time, "
            "end_time, audience, version, created_at, updated_at) VALUES ('w-' || :rid, :rid, "
            "'', 'FREQ=DAILY', '[]', '08:00', '09:00', '[]', 1, :at, :at)",
        ),
        ("resource", "UPDATE opening_windows SET end_time = '10:00' WHERE resource_id = :rid"),
        ("resource", "DELETE FROM opening_windows WHERE resource_id = :rid"),
        (
            "resource",
            "INSERT INTO closures (id, resource_id, starts_at, ends_at, reason, created_by, "
            "created_at) VALUES ('c-' || :rid, :rid, :at, '2026-12-02 00:00:00+00:00', '', "
            "'test', :at)",
        ),
        ("resource", "UPDATE closures SET reason = 'exam' WHERE resource_id = :rid"),
        ("resource", "DELETE FROM closures WHERE resource_id = :rid"),
        (
            "resource",
            "INSERT INTO school_terms (id, partner_id, name, starts_on, ends_on, created_at) "
            "VALUES ('t-' || :rid, :pid, 'autumn', '2026-09-01', '2027-01-20', :at)",
        ),
        ("resource", "UPDATE school_terms SET name = 'fall' WHERE partner_id = :pid"),
        ("resource", "DELETE FROM school_terms WHERE partner_id = :pid"),
        (
            "calendar",
            "INSERT INTO calendar_corrections (day, day_type, name, updated_by, updated_at) "
            "VALUES ('2099-01-03', 'workday', 'test', 'test', :at)",
        ),
        ("calendar", "UPDATE calendar_corrections SET name = 'x' WHERE day = '2099-01-03'"),
        ("calendar", "DELETE FROM calendar_corrections WHERE day = '2099-01-03'"),
    ]
    for changes, statement in writes:
        before = await _versions(db, rid)
        async with db() as session, session.begin():
            parameters = {"rid": rid, "pid": pid, "at": datetime.fromisoformat(stamp)}
            await session.execute(text(statement), parameters)
        after = await _versions(db, rid)
        changed = 0 if changes == "resource" else 1
        assert after[changed] != before[changed], statement


def test_suggested_alternatives_are_kept_one_second_and_boundedly():
    now = [100.0]
    recent = RecentAlternatives(seconds=1.0, size=2, clock=lambda: now[0])
    seven = [
        Alternative(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC))
    ]
    recent.keep("a", seven)
    now[0] += 0.99
    assert recent.get("a") is seven
    now[0] += 0.01
    assert recent.get("a") is None  # a second old: computed again
    for key in ("a", "b", "c"):
        recent.keep(key, [])
    assert recent.get("a") is None and recent.get("c") == []  # at most two: the oldest went
