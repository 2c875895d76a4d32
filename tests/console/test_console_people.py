"""The resident pages of the console over HTTP: a neighbourhood worker finds a resident of
their communities (never another's), books for them and records a walk-in through the API's
booking service; staff correct a record and a stale edit shows the current values; the
suspensions list lifts and excuses through the API's services, each role seeing its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from scheduler.db.bookings import Booking as BookingRow
from tests.console.support import csrf_of, sign_in
from tests.support.builders import make_resource, make_window, ok, unique

WORKER = "worker-zhao"  # demo worker of shangnan-1 and shangnan-2
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _resident(client: Any, tokens: Any, community: str, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("居民"), "community": community, **fields}
    return ok(await client.post("/api/v1/residents", json=body, headers=tokens.staff()), 201)


async def _open_resource(client: Any, tokens: Any) -> dict[str, Any]:
    policy = {"granularity_minutes": 60, "min_duration_minutes": 60}
    resource = await make_resource(client, tokens, name=unique("活动室 Room"), policy=policy)
    await make_window(
        client, tokens, resource["id"], start_time="00:00", end_time="24:00", audience="public"
    )
    return resource


def _booked_id(html: str) -> str:
    found = re.search(r'data-testid="booked-id">([^<]+)<', html)
    assert found, html[:2000]
    return found.group(1)


async def test_worker_finds_books_and_records_a_walk_in(
    browser_client: Any, client: Any, tokens: Any, clock: Any
) -> None:
    resource = await _open_resource(client, tokens)
    suffix = f"{datetime.now(UTC).microsecond:06d}"[-4:]
    resident = await _resident(client, tokens, "shangnan-1", phone=f"138-0013-{suffix}")
    outsider = await _resident(client, tokens, "elsewhere-9", phone=f"139 0000 {suffix}")
    await sign_in(browser_client, WORKER)

    # the worker starts from the search
    start = await browser_client.get("/console/", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"] == "/console/residents"
    found = await browser_client.get("/console/residents", params={"phone": suffix})
    assert f'data-resident="{resident["id"]}"' in found.text
    assert outsider["id"] not in found.text  # same phone ending, another community
    by_name = await browser_client.get("/console/residents", params={"q": resident["name"]})
    assert f'data-resident="{resident["id"]}"' in by_name.text
    assert 'data-testid="found-count">1<' in by_name.text
    assert "138****" in by_name.text and suffix in by_name.text  # the phone masked
    too_short = await browser_client.get("/console/residents", params={"phone": "56"})
    assert 'data-field="phone"' in too_short.text
    # another community's resident does not exist for this worker
    outside = await browser_client.get(f"/console/residents/{outsider['id']}/book")
    assert outside.status_code == 404

    form_page = await browser_client.get(f"/console/residents/{resident['id']}/book")
    assert form_page.status_code == 200
    csrf = csrf_of(form_page.text)
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    booked = await browser_client.post(
        f"/console/residents/{resident['id']}/book",
        data={
            "_csrf_token": csrf,
            "resource_id": resource["id"],
            "day": tomorrow,
            "start": "10:00",
            "end": "11:00",
            "quantity": "1",
            "intent": "book",
        },
    )
    assert booked.status_code == 200, booked.text[:2000]
    booking = ok(
        await client.get(f"/api/v1/bookings/{_booked_id(booked.text)}", headers=tokens.staff())
    )
    assert booking["holder"]["sub"] == resident["id"] and booking["created_by"] == WORKER
    assert booking["status"] == "confirmed" and not booking["walk_in"]
    starts = datetime.fromisoformat(booking["starts_at"]).astimezone(SHANGHAI)
    assert starts.isoformat() == f"{tomorrow}T10:00:00+08:00"

    # a walk-in must include now: tomorrow is refused with the API's refusal, nothing written
    refused = await browser_client.post(
        f"/console/residents/{resident['id']}/book",
        data={
            "_csrf_token": csrf,
            "resource_id": resource["id"],
            "day": tomorrow,
            "start": "12:00",
            "end": "13:00",
            "intent": "walk_in",
        },
    )
    assert refused.status_code == 409 and "not_in_progress" in refused.text
    assert 'data-testid="booked"' not in refused.text

    # the form's default times are the hour in progress: a walk-in, checked in at once
    now_local = clock.now().astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    walk_in = await browser_client.post(
        f"/console/residents/{resident['id']}/book",
        data={
            "_csrf_token": csrf,
            "resource_id": resource["id"],
            "day": now_local.date().isoformat(),
            "start": now_local.strftime("%H:%M"),
            "end": (now_local + timedelta(hours=1)).strftime("%H:%M"),
            "intent": "walk_in",
        },
    )
    assert walk_in.status_code == 200, walk_in.text[:2000]
    recorded = ok(
        await client.get(f"/api/v1/bookings/{_booked_id(walk_in.text)}", headers=tokens.staff())
    )
    assert recorded["status"] == "checked_in" and recorded["walk_in"] is True
    assert recorded["holder"]["sub"] == resident["id"]


async def test_worker_records_residents_of_their_communities_only(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    await sign_in(browser_client, WORKER)
    page = await browser_client.get("/console/residents/new")
    assert '<option value="shangnan-2"' in page.text  # the worker's communities to choose
    name = unique("新居民")
    refused = await browser_client.post(
        "/console/residents/new",
        data={"_csrf_token": csrf_of(page.text), "name": name, "community": "elsewhere-9"},
    )
    assert refused.status_code == 403 and "forbidden" in refused.text
    created = await browser_client.post(
        "/console/residents/new",
        data={"_csrf_token": csrf_of(page.text), "name": name, "community": "shangnan-2"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    listing = ok(await client.get("/api/v1/residents", params={"q": name}, headers=tokens.staff()))
    assert [(r["name"], r["community"]) for r in listing["items"]] == [(name, "shangnan-2")]
    assert listing["items"][0]["created_by"] == WORKER


async def test_a_stale_edit_says_so_and_shows_the_current_values(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    resident = await _resident(client, tokens, "shangnan-1", tags=["elderly"])
    await sign_in(browser_client, "staff-li")
    form = await browser_client.get(f"/console/residents/{resident['id']}")
    assert 'name="version" value="1"' in form.text
    # someone else corrects the name meanwhile, through the API
    changed = await client.patch(
        f"/api/v1/residents/{resident['id']}",
        json={"name": "陈明 Chen Ming"},
        headers={**tokens.staff(), "If-Match": '"1"'},
    )
    assert changed.status_code == 200
    stale = await browser_client.post(
        f"/console/residents/{resident['id']}",
        data={
            "_csrf_token": csrf_of(form.text),
            "version": "1",
            "name": "陈敏 Chen Min",
            "community": "shangnan-1",
            "tags": "elderly",
        },
    )
    assert stale.status_code == 412 and 'data-testid="stale"' in stale.text
    assert 'data-current="name">陈明 Chen Ming<' in stale.text
    assert 'value="陈敏 Chen Min"' in stale.text  # what was typed is kept in the form
    assert 'name="version" value="2"' in stale.text
    now = ok(await client.get(f"/api/v1/residents/{resident['id']}", headers=tokens.staff()))
    assert now["name"] == "陈明 Chen Ming" and now["version"] == 2
    # saving again from the refreshed form is accepted
    saved = await browser_client.post(
        f"/console/residents/{resident['id']}",
        data={
            "_csrf_token": csrf_of(stale.text),
            "version": "2",
            "name": "陈敏 Chen Min",
            "community": "shangnan-1",
            "tags": "elderly, wheelchair",
            "phone": "021-5888 1234",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    now = ok(await client.get(f"/api/v1/residents/{resident['id']}", headers=tokens.staff()))
    assert now["name"] == "陈敏 Chen Min" and now["tags"] == ["elderly", "wheelchair"]
    assert now["phone_masked"] == "021****1234" and now["version"] == 3


async def test_suspensions_list_lift_and_excuse(
    browser_client: Any, client: Any, tokens: Any, db: Any
) -> None:
    resource = await _open_resource(client, tokens)
    resident = await _resident(client, tokens, "shangnan-1")
    day = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
    booking = ok(
        await client.post(
            "/api/v1/bookings",
            json={
                "resource_id": resource["id"],
                "starts_at": f"{day}T09:00:00+08:00",
                "ends_at": f"{day}T10:00:00+08:00",
                "on_behalf_of": {"sub": resident["id"]},
            },
            headers=tokens.staff(),
        ),
        201,
    )
    async with db() as session, session.begin():  # what the no-show duty would have done
        await session.execute(
            update(BookingRow).where(BookingRow.id == booking["id"]).values(status="no_show")
        )
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    suspension = ok(
        await client.post(
            "/api/v1/suspensions",
            json={
                "resident_id": resident["id"],
                "scope": "everywhere",
                "until": until,
                "reason": "3 no-shows",
            },
            headers=tokens.staff(),
        ),
        201,
    )
    marker = f'data-suspension="{suspension["id"]}"'

    # the worker sees their resident's suspension, without lift or excuse buttons
    await sign_in(browser_client, WORKER)
    seen = await browser_client.get("/console/suspensions")
    assert marker in seen.text and f'data-no-show="{booking["id"]}"' in seen.text
    assert f"/console/suspensions/{suspension['id']}/lift" not in seen.text
    refused = await browser_client.post(
        f"/console/suspensions/{suspension['id']}/lift", data={"_csrf_token": csrf_of(seen.text)}
    )
    assert refused.status_code == 403
    # a partner does not see a suspension beyond its own resources
    await sign_in(browser_client, "partner-shangnan")
    assert marker not in (await browser_client.get("/console/suspensions")).text

    await sign_in(browser_client, "staff-li")
    page = await browser_client.get("/console/suspensions")
    assert marker in page.text and f"/console/no-shows/{booking['id']}/excuse" in page.text
    csrf = csrf_of(page.text)
    no_reason = await browser_client.post(
        f"/console/no-shows/{booking['id']}/excuse", data={"_csrf_token": csrf, "reason": " "}
    )
    assert no_reason.status_code == 422
    excused = await browser_client.post(
        f"/console/no-shows/{booking['id']}/excuse",
        data={"_csrf_token": csrf, "reason": "在医院 in hospital"},
    )
    assert excused.status_code == 200 and f'data-no-show="{booking["id"]}"' not in excused.text
    now = ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=tokens.staff()))
    assert now["status"] == "no_show" and now["excused_at"] is not None
    lifted = await browser_client.post(
        f"/console/suspensions/{suspension['id']}/lift", data={"_csrf_token": csrf}
    )
    assert lifted.status_code == 200 and marker not in lifted.text
    running = ok(await client.get("/api/v1/suspensions?limit=200", headers=tokens.staff()))
    assert suspension["id"] not in {item["id"] for item in running["items"]}
