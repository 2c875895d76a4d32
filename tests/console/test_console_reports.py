"""The partner's week view and the reports over HTTP: slots coloured by held / capacity with
the bookings in each and the closures shown; the report's charts, and its CSV identical to the
API's ``Accept: text/csv`` answer, each limited to what the viewer may report on."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.stats.services import CSV_FIELDS
from tests.console.support import sign_in
from tests.support.builders import make_resource, make_window, ok, unique

DEMO_PARTNER = "shangnan-middle"
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _ensure_demo_partner(client: Any, tokens: Any) -> None:
    body = {"id": DEMO_PARTNER, "name": "上南中学 Shangnan Middle School", "zone": "campus"}
    response = await client.post("/api/v1/partners", json=body, headers=tokens.staff())
    assert response.status_code in (201, 409), response.text


async def _book(
    client: Any, tokens: Any, resource_id: str, day: str, hour: int, **fields: Any
) -> Any:
    name = fields.pop("name", "王 Wang")
    body = {
        "resource_id": resource_id,
        "starts_at": f"{day}T{hour:02d}:00:00+08:00",
        "ends_at": f"{day}T{hour + 1:02d}:00:00+08:00",
        **fields,
    }
    headers = tokens.resident(sub=unique("res"), name=name)
    return ok(await client.post("/api/v1/bookings", json=body, headers=headers), 201)


def _slot(html: str, day: str, hour: int) -> str:
    """The markup of the slot starting at ``hour`` on ``day`` (local time)."""
    start = f"{day}T{hour:02d}:00:00+08:00"
    at = html.find(f'data-slot="{start}"')
    assert at >= 0, start
    ends = [i for i in (html.find('<div class="slot ', at), html.find("</section>", at)) if i > 0]
    return html[at : min(ends)]


async def test_week_view_colours_slots_and_shows_bookings_and_closures(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    await _ensure_demo_partner(client, tokens)
    policy = {"granularity_minutes": 60, "min_duration_minutes": 60}
    resource = await make_resource(
        client, tokens, DEMO_PARTNER, name=unique("篮球场 Court"), capacity=4, policy=policy
    )
    await make_window(
        client, tokens, resource["id"], start_time="08:00", end_time="18:00", audience="public"
    )
    day = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
    one = await _book(client, tokens, resource["id"], day, 10, name="李雷 Li Lei")
    await _book(client, tokens, resource["id"], day, 11, quantity=3)
    await _book(client, tokens, resource["id"], day, 12, quantity=4)
    closure = {
        "starts_at": f"{day}T14:00:00+08:00",
        "ends_at": f"{day}T16:00:00+08:00",
        "reason": "考试 exam",
    }
    ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures", json=closure, headers=tokens.staff()
        ),
        201,
    )

    await sign_in(browser_client, "partner-shangnan")
    page = await browser_client.get(f"/console/resources/{resource['id']}/week?start={day}")
    assert page.status_code == 200
    html = page.text
    assert f'data-day="{day}"' in html
    assert 'data-fill="empty"' in _slot(html, day, 9) and ">0/4<" in _slot(html, day, 9)
    ten = _slot(html, day, 10)
    assert 'data-fill="low"' in ten and ">1/4<" in ten
    assert f'data-booking="{one["id"]}"' in ten and "李雷 Li Lei" in ten
    assert 'data-fill="high"' in _slot(html, day, 11) and ">3/4<" in _slot(html, day, 11)
    assert 'data-fill="full"' in _slot(html, day, 12)
    closed = _slot(html, day, 14)
    assert 'data-fill="closed"' in closed and "考试 exam" in closed
    assert 'data-testid="closures"' in html
    # another partner's resource is not this partner's to see
    other = await make_resource(client, tokens, name=unique("Other"))
    assert (await browser_client.get(f"/console/resources/{other['id']}/week")).status_code == 403


async def test_reports_chart_and_csv_are_the_api_report(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    await _ensure_demo_partner(client, tokens)
    policy = {"granularity_minutes": 60, "min_duration_minutes": 60}
    resource = await make_resource(
        client, tokens, DEMO_PARTNER, name=unique("报表 Report room"), capacity=2, policy=policy
    )
    await make_window(
        client, tokens, resource["id"], start_time="08:00", end_time="12:00", audience="public"
    )
    day = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    await _book(client, tokens, resource["id"], day, 9)
    resident = ok(
        await client.post(
            "/api/v1/residents",
            json={"name": unique("居民"), "community": "shangnan-1"},
            headers=tokens.staff(),
        ),
        201,
    )
    ok(
        await client.post(
            "/api/v1/bookings",
            json={
                "resource_id": resource["id"],
                "starts_at": f"{day}T10:00:00+08:00",
                "ends_at": f"{day}T11:00:00+08:00",
                "on_behalf_of": {"sub": resident["id"]},
            },
            headers=tokens.staff(),
        ),
        201,
    )
    query = {"from": day, "to": day, "group_by": "resource"}

    await sign_in(browser_client, "staff-li")
    page = await browser_client.get("/console/reports", params=query)
    assert page.status_code == 200
    for chart in ("utilization-chart", "no-show-chart", "proxy-chart"):
        assert f'data-testid="{chart}"' in page.text
    row = re.search(rf'<tr data-key="{resource["id"]}">.*?</tr>', page.text, re.S)
    assert row and "25.0 %" in row.group(0)  # 2 booked place-hours of 2 places x 4 hours
    # one of the two bookings was made on behalf of its holder
    assert 'data-testid="proxy">50.0 %<' in row.group(0)

    console_csv = await browser_client.get("/console/reports/csv", params=query)
    assert console_csv.status_code == 200
    assert console_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in console_csv.headers["content-disposition"]
    api_csv = await client.get(
        "/api/v1/stats/utilization",
        params=query,
        headers={**tokens.staff(), "Accept": "text/csv"},
    )
    assert console_csv.text == api_csv.text
    rows = list(csv.reader(io.StringIO(console_csv.text)))
    assert tuple(rows[0]) == CSV_FIELDS
    mine = next(r for r in rows if r[0] == resource["id"])
    assert float(mine[CSV_FIELDS.index("booked_hours")]) == 2.0

    # a partner's report holds only its own resources
    other = await make_resource(client, tokens, name=unique("Other"))
    await sign_in(browser_client, "partner-shangnan")
    partner_csv = (await browser_client.get("/console/reports/csv", params=query)).text
    keys = {r[0] for r in csv.reader(io.StringIO(partner_csv))}
    assert resource["id"] in keys and other["id"] not in keys

    bad = await browser_client.get("/console/reports", params={**query, "to": "2020-13-01"})
    assert bad.status_code == 422 and 'data-field="to"' in bad.text
