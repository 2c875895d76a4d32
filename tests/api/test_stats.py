"""Usage reports: exact figures for a constructed scenario, grouping, CSV, who sees what,
and refused ranges."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.db.bookings import STATUSES
from scheduler.duties.services import DutyService
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

CREATED = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 08:00 on Monday 7 December in Shanghai
CHECK_IN = datetime(2026, 12, 8, 9, 50, tzinfo=UTC)  # 17:50 on the 8th, before the 18:00 start
FINISHED = datetime(2026, 12, 9, 13, 0, tzinfo=UTC)  # 21:00 on the 9th
REPORT = {"from": "2026-12-08", "to": "2026-12-10"}  # three local days, both ends included
URL = "/api/v1/stats/utilization"


def at(day: int, start: str, end: str) -> tuple[str, str]:
    return f"2026-12-{day:02d}T{start}:00+08:00", f"2026-12-{day:02d}T{end}:00+08:00"


def statuses(**counts: int) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in STATUSES}


class Scenario:
    """Partner A (campus): a track (capacity 10, open 18:00-20:00, check-in required) with a
    completed, a no-show, a cancelled and a confirmed booking in the report and one after it;
    a pool (capacity 5, open 08:00-09:00) without bookings. Partner B (office): a room
    (capacity 1, open 10:00-12:00, closed on the 9th) with one completed booking."""

    async def build(self, client: Any, tokens: Tokens, clock: Any, db: Any) -> None:
        clock.set(CREATED)
        self.partner_a = (await make_partner(client, tokens, zone="campus"))["id"]
        self.partner_b = (await make_partner(client, tokens, name="Office park", zone="office"))[
            "id"
        ]
        self.track = await self._resource(
            client, tokens, self.partner_a, 10, "18:00", "20:00", check_in_required=True
        )
        self.pool = await self._resource(client, tokens, self.partner_a, 5, "08:00", "09:00")
        self.room = await self._resource(client, tokens, self.partner_b, 1, "10:00", "12:00")
        closure = {"starts_at": "2026-12-09T00:00:00+08:00", "ends_at": "2026-12-10T00:00:00+08:00"}
        ok(
            await client.post(
                f"/api/v1/resources/{self.room}/closures", json=closure, headers=tokens.staff()
            ),
            201,
        )
        await self._bookings(client, tokens, clock)
        async with db() as session, session.begin():
            await DutyService(session).finish_ended(FINISHED)

    @staticmethod
    async def _resource(client, tokens, partner, capacity, start, end, **policy) -> str:
        resource = await make_resource(
            client, tokens, partner, capacity=capacity, policy=policy or None
        )
        await make_window(client, tokens, resource["id"], start_time=start, end_time=end)
        return str(resource["id"])

    async def _bookings(self, client: Any, tokens: Tokens, clock: Any) -> None:
        attended, absent, cancelling = (tokens.resident(sub=unique("r")) for _ in range(3))
        completed = ok(
            await book(client, attended, self.track, *at(8, "18:00", "20:00"), quantity=2), 201
        )
        ok(await book(client, absent, self.track, *at(8, "18:00", "19:00")), 201)
        cancelled = ok(
            await book(client, cancelling, self.track, *at(9, "18:00", "20:00"), quantity=3), 201
        )
        ok(await client.post(f"/api/v1/bookings/{cancelled['id']}/cancel", headers=cancelling))
        ok(await book(client, attended, self.track, *at(10, "19:00", "20:00")), 201)
        ok(await book(client, attended, self.track, *at(11, "18:00", "19:00")), 201)
        ok(await book(client, attended, self.room, *at(8, "10:00", "11:00")), 201)
        clock.set(CHECK_IN)
        ok(await client.post(f"/api/v1/bookings/{completed['id']}/check-in", headers=attended))


@pytest.fixture
async def scenario(client, tokens: Tokens, clock, db) -> Scenario:
    built = Scenario()
    await built.build(client, tokens, clock, db)
    return built


async def report(client, headers: dict[str, str], group_by: str) -> dict[str, dict[str, Any]]:
    body = ok(await client.get(URL, params={**REPORT, "group_by": group_by}, headers=headers))
    assert (body["from"], body["to"], body["group_by"]) == ("2026-12-08", "2026-12-10", group_by)
    return {row["key"]: row for row in body["rows"]}


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["open_hours"],
        row["capacity_hours"],
        row["booked_hours"],
        row["utilization"],
        row["no_show_rate"],
    )


TRACK = (6.0, 60.0, 6.0, 0.1, 0.5)
POOL = (3.0, 15.0, 0.0, 0.0, None)
PARTNER_A = (9.0, 75.0, 6.0, 0.08, 0.5)
ROOM = (4.0, 4.0, 1.0, 0.25, 0.0)


async def test_figures_by_resource(client, tokens: Tokens, scenario: Scenario):
    rows = await report(client, tokens.partner(scenario.partner_a), "resource")
    assert set(rows) == {scenario.track, scenario.pool}
    track = rows[scenario.track]
    assert track["name"] == "400 m track"
    assert figures(track) == TRACK
    assert track["bookings_by_status"] == statuses(completed=1, no_show=1, cancelled=1, confirmed=1)
    assert figures(rows[scenario.pool]) == POOL
    assert rows[scenario.pool]["bookings_by_status"] == statuses()


async def test_groups_sum_hours_and_recompute_rates(client, tokens: Tokens, scenario: Scenario):
    own = tokens.partner(scenario.partner_a)
    by_partner = await report(client, own, "partner")
    assert list(by_partner) == [scenario.partner_a]
    assert figures(by_partner[scenario.partner_a]) == PARTNER_A
    by_zone = await report(client, own, "zone")
    assert list(by_zone) == ["campus"]
    assert by_zone["campus"]["name"] == "校区 Campus"
    assert figures(by_zone["campus"]) == PARTNER_A
    assert by_zone["campus"]["bookings_by_status"]["no_show"] == 1


async def test_staff_see_every_partner(client, tokens: Tokens, scenario: Scenario):
    rows = await report(client, tokens.staff(), "partner")
    assert figures(rows[scenario.partner_a]) == PARTNER_A
    assert figures(rows[scenario.partner_b]) == ROOM
    assert rows[scenario.partner_b]["name"] == "Office park"
    zones = await report(client, tokens.admin(), "zone")
    assert {"campus", "office"} <= set(zones)
    assert zones["office"]["capacity_hours"] >= ROOM[1]


async def test_partners_see_only_their_own_resources(client, tokens: Tokens, scenario: Scenario):
    rows = await report(client, tokens.partner(scenario.partner_b), "resource")
    assert list(rows) == [scenario.room]
    assert figures(rows[scenario.room]) == ROOM
    idle = (await make_partner(client, tokens))["id"]  # a partner without resources
    assert await report(client, tokens.partner(idle), "partner") == {}


async def test_csv_on_request(client, tokens: Tokens, scenario: Scenario):
    headers = {**tokens.partner(scenario.partner_a), "Accept": "text/csv"}
    response = await client.get(URL, params={**REPORT, "group_by": "resource"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        "utilization-resource-2026-12-08-2026-12-10.csv" in response.headers["content-disposition"]
    )
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == [
        "key",
        "name",
        "open_hours",
        "capacity_hours",
        "booked_hours",
        "utilization",
        "no_show_rate",
        *(f"status_{status}" for status in STATUSES),
    ]
    rows = {row["key"]: row for row in reader}
    track, pool = rows[scenario.track], rows[scenario.pool]
    assert [track[f] for f in ("open_hours", "capacity_hours", "booked_hours")] == [
        "6.0",
        "60.0",
        "6.0",
    ]
    assert (track["utilization"], track["no_show_rate"], track["status_no_show"]) == (
        "0.1",
        "0.5",
        "1",
    )
    assert (pool["no_show_rate"], pool["status_confirmed"]) == ("", "0")


async def test_json_unless_csv_is_asked_for(client, tokens: Tokens):
    for accept in ("application/json", "*/*", "text/html"):
        headers = {**tokens.staff(), "Accept": accept}
        response = await client.get(
            URL, params={"from": "2031-01-01", "to": "2031-01-02"}, headers=headers
        )
        assert response.headers["content-type"].startswith("application/json"), accept


async def test_a_spreadsheet_formula_in_a_name_is_defused(client, tokens: Tokens, clock):
    clock.set(CREATED)
    partner = (await make_partner(client, tokens, name="=HYPERLINK(1)"))["id"]
    await make_resource(client, tokens, partner, name="+SUM(A1)")
    headers = {**tokens.partner(partner), "Accept": "text/csv"}
    response = await client.get(URL, params={**REPORT, "group_by": "partner"}, headers=headers)
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert row["name"] == "'=HYPERLINK(1)"


async def test_residents_and_anonymous_callers_are_refused(client, tokens: Tokens):
    assert_problem(
        await client.get(URL, params=REPORT, headers=tokens.resident()), 403, "forbidden"
    )
    assert_problem(await client.get(URL, params=REPORT), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-12-08", "to": "2026-12-07"}, "to"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),  # 367 days
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"from": "2026-W50-2", "to": "2026-12-09"}, "from"),
        ({"from": "2026-12-08T00:00:00+08:00", "to": "2026-12-09"}, "from"),
        ({"from": "2026-12-08", "to": "tomorrow"}, "to"),
        ({"from": "2026-12-08", "to": "2026-12-09", "group_by": "community"}, "group_by"),
    ],
)
async def test_bad_ranges_are_refused(client, tokens: Tokens, query: dict[str, str], field: str):
    problem = assert_problem(
        await client.get(URL, params=query, headers=tokens.staff()), 422, "validation_error"
    )
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_from_and_to_are_required(client, tokens: Tokens):
    problem = assert_problem(
        await client.get(URL, params={"to": "2026-12-09"}, headers=tokens.staff()),
        422,
        "validation_error",
    )
    assert "'from'" in problem["detail"]


@pytest.mark.parametrize(
    ("first", "last"), [("2028-01-01", "2028-12-31"), ("2026-12-08", "2026-12-08")]
)
async def test_one_day_to_a_full_leap_year_is_allowed(client, tokens: Tokens, first, last):
    query = {"from": first, "to": last, "group_by": "partner"}
    idle = tokens.partner((await make_partner(client, tokens))["id"])  # no resources
    body = ok(await client.get(URL, params=query, headers=idle))
    assert (body["from"], body["to"], body["rows"]) == (first, last, [])


async def test_days_are_the_resources_local_days(client, tokens: Tokens, clock):
    clock.set(CREATED)
    partner = (await make_partner(client, tokens))["id"]
    resource = await Scenario._resource(client, tokens, partner, 4, "07:00", "09:00")
    ok(await book(client, tokens.resident(), resource, *at(8, "07:00", "08:00")), 201)  # 23:00Z
    query = {"from": "2026-12-08", "to": "2026-12-08"}
    body = ok(await client.get(URL, params=query, headers=tokens.partner(partner)))
    (row,) = body["rows"]
    assert figures(row) == (2.0, 8.0, 1.0, 0.125, None)
    assert row["bookings_by_status"]["confirmed"] == 1


async def test_a_resource_counts_only_while_it_exists(client, tokens: Tokens, clock):
    clock.set(datetime(2026, 12, 9, 0, 0, tzinfo=UTC))  # 08:00 on the 9th
    partner = (await make_partner(client, tokens))["id"]
    resource = await Scenario._resource(client, tokens, partner, 1, "18:00", "20:00")
    own = tokens.partner(partner)
    assert figures((await report(client, own, "resource"))[resource])[:2] == (4.0, 4.0)
    clock.set(datetime(2026, 12, 10, 0, 0, tzinfo=UTC))  # 08:00 on the 10th
    deleted = await client.delete(f"/api/v1/resources/{resource}", headers=tokens.staff())
    assert deleted.status_code == 204, deleted.text
    assert figures((await report(client, own, "resource"))[resource])[:2] == (2.0, 2.0)


async def test_people_served_counts_residents_proxy_bookings_walk_ins_by_community_and_tag(
    client, tokens: Tokens, clock
):
    clock.set(CREATED)
    partner = await make_partner(client, tokens)
    canteen = await make_resource(client, tokens, partner["id"], capacity=40)
    await make_window(client, tokens, canteen["id"], start_time="08:00", end_time="13:00")
    elder = ok(
        await client.post(
            "/api/v1/residents",
            json={"name": "李奶奶", "community": "shangnan-2", "tags": ["elderly"]},
            headers=tokens.staff(),
        ),
        201,
    )
    for_her = {"sub": elder["id"]}
    staff, desk = tokens.staff(), tokens.partner(partner["id"])
    ok(
        await book(client, staff, canteen["id"], *at(8, "11:00", "12:00"), on_behalf_of=for_her),
        201,
    )
    younger = tokens.resident(sub=unique("self"), community="shangnan-1")
    ok(await book(client, younger, canteen["id"], *at(8, "11:00", "12:00")), 201)
    dropped = ok(await book(client, younger, canteen["id"], *at(9, "11:00", "12:00")), 201)
    ok(await client.post(f"/api/v1/bookings/{dropped['id']}/cancel", headers=younger))
    clock.set(datetime(2026, 12, 9, 3, 10, tzinfo=UTC))  # 11:10 on the 9th, lunch in progress
    walk_in = ok(
        await book(
            client,
            desk,
            canteen["id"],
            *at(9, "11:00", "12:00"),
            on_behalf_of=for_her,
            walk_in=True,
        ),
        201,
    )
    assert walk_in["status"] == "checked_in" and walk_in["walk_in"] is True

    url = "/api/v1/stats/people"
    report = ok(await client.get(url, params=REPORT, headers=desk))
    row = {"residents": 2, "bookings": 3, "self_made": 1, "proxy": 2, "walk_ins": 1}
    assert {key: report["total"][key] for key in row} == row
    assert report["total"]["proxy_share"] == round(2 / 3, 4)
    communities = {r["key"]: (r["residents"], r["bookings"]) for r in report["by_community"]}
    assert communities == {"shangnan-1": (1, 1), "shangnan-2": (1, 2)}
    assert [(r["key"], r["walk_ins"]) for r in report["by_tag"]] == [("elderly", 1)]
    other = await make_partner(client, tokens)
    theirs = ok(await client.get(url, params=REPORT, headers=tokens.partner(other["id"])))
    assert theirs["total"]["bookings"] == 0
    assert_problem(await client.get(url, params=REPORT, headers=younger), 403, "forbidden")
    sheet = await client.get(url, params=REPORT, headers={**staff, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert rows[0]["breakdown"] == "total" and rows[0]["walk_ins"] == "1"
    assert {(r["breakdown"], r["key"]) for r in rows[1:]} >= {("tag", "elderly")}
