"""The console's set-up and record-keeping pages over HTTP, each through the API's services:
school terms, webhooks and their deliveries, partners / resources / units with errors next to
the fields and stale edits, the printed gate list, a per-day calendar correction, resident
merge, the personal-data access log and a resident's stored record. Posts without a CSRF
token are refused and write nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.db.bookings import WebhookEndpoint
from scheduler.db.catalogue import Partner, User
from scheduler.db.people import PersonalDataAccess
from scheduler.db.schedule import CalendarCorrection, SchoolTerm
from tests.console.support import csrf_of, sign_in
from tests.support.builders import make_resource, make_window, ok, unique

DEMO_PARTNER = "shangnan-middle"
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _demo_partner(client: Any, tokens: Any) -> None:
    body = {"id": DEMO_PARTNER, "name": "上南中学 Shangnan Middle School", "zone": "campus"}
    response = await client.post("/api/v1/partners", json=body, headers=tokens.staff())
    assert response.status_code in (201, 409), response.text


async def _post(browser: Any, page_path: str, action: str, **fields: Any) -> Any:
    """Post the form of ``page_path`` to ``action`` with the page's CSRF token."""
    csrf = csrf_of((await browser.get(page_path)).text)
    return await browser.post(action, data={"_csrf_token": csrf, **fields}, follow_redirects=False)


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'data-field="{re.escape(field)}">([^<]*)<', html)
    assert found, (field, html[:3000])
    return found.group(1)


async def test_partner_adds_and_deletes_school_terms(
    browser_client: Any, client: Any, tokens: Any, db: Any
) -> None:
    await _demo_partner(client, tokens)
    await sign_in(browser_client, "partner-shangnan")
    name = unique("2027 春季学期")
    # a partner's own unit, whatever partner_id the form names
    saved = await _post(
        browser_client,
        "/console/terms",
        "/console/terms",
        partner_id="another-partner",
        name=name,
        starts_on="2027-02-20",
        ends_on="2027-07-02",
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith(f"/console/terms?partner_id={DEMO_PARTNER}")
    listed = await browser_client.get(saved.headers["location"])
    assert name in listed.text
    api = ok(await client.get(f"/api/v1/partners/{DEMO_PARTNER}/terms", headers=tokens.staff()))
    term_id = next(term["id"] for term in api if term["name"] == name)

    refused = await _post(
        browser_client,
        "/console/terms",
        "/console/terms",
        name="倒过来的学期",
        starts_on="2027-09-01",
        ends_on="2027-08-01",
    )
    assert refused.status_code == 422
    assert _field_error(refused.text, "ends_on") == "不能早于开始日期"
    assert 'value="倒过来的学期"' in refused.text  # what was typed is kept

    deleted = await _post(
        browser_client,
        "/console/terms",
        f"/console/terms/{term_id}/delete",
        partner_id=DEMO_PARTNER,
    )
    assert deleted.status_code == 303
    async with db() as session:
        assert await session.get(SchoolTerm, term_id) is None


async def test_staff_choose_the_partner_of_the_terms(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    partner = ok(
        await client.post(
            "/api/v1/partners",
            json={"id": unique("school"), "name": "三林中学", "zone": "campus"},
            headers=tokens.staff(),
        ),
        201,
    )
    await sign_in(browser_client, "staff-li")
    chooser = await browser_client.get("/console/terms")
    assert f'value="{partner["id"]}"' in chooser.text and 'action="/console/terms"' in chooser.text
    page_path = f"/console/terms?partner_id={partner['id']}"
    saved = await _post(
        browser_client,
        page_path,
        "/console/terms",
        partner_id=partner["id"],
        name="秋季学期",
        starts_on="2027-09-01",
        ends_on="2028-01-20",
    )
    assert saved.status_code == 303
    assert "秋季学期" in (await browser_client.get(page_path)).text


async def test_webhooks_register_show_the_secret_once_and_list_deliveries(
    browser_client: Any, db: Any
) -> None:
    await sign_in(browser_client, "staff-li")
    url = f"https://hooks.example.org/{unique('h')}"
    created = await _post(
        browser_client,
        "/console/webhooks",
        "/console/webhooks",
        url=url,
        events=["booking.created", "booking.cancelled"],
    )
    assert created.status_code == 200, created.text
    secret = re.search(r'data-testid="secret">([^<]+)<', created.text)
    assert secret and len(secret.group(1)) >= 32
    webhook_id = re.search(
        rf'data-webhook="(whk_[^"]+)">\s*<td><a [^>]*>{re.escape(url)}<', created.text
    )
    assert webhook_id, created.text[:3000]
    listing = await browser_client.get("/console/webhooks")
    assert url in listing.text and secret.group(1) not in listing.text  # shown only once

    detail = await browser_client.get(f"/console/webhooks/{webhook_id.group(1)}")
    assert detail.status_code == 200 and "booking.created, booking.cancelled" in detail.text

    private = await _post(
        browser_client,
        "/console/webhooks",
        "/console/webhooks",
        url="ftp://hooks.example.org/x",
        events=["booking.created"],
    )
    assert private.status_code == 422
    assert _field_error(private.text, "url") == "必须以 http:// 或 https:// 开头"
    no_events = await _post(browser_client, "/console/webhooks", "/console/webhooks", url=url)
    assert no_events.status_code == 422 and _field_error(no_events.text, "events")

    hook_page = f"/console/webhooks/{webhook_id.group(1)}"
    paused = await _post(browser_client, hook_page, f"{hook_page}/disable")
    assert paused.status_code == 303
    async with db() as session:
        row = await session.get(WebhookEndpoint, webhook_id.group(1))
        assert row is not None and row.active is False and row.disabled_at is not None
    shown = await browser_client.get(hook_page)
    assert "已停用" in shown.text and f'action="{hook_page}/enable"' in shown.text
    assert (await _post(browser_client, hook_page, f"{hook_page}/enable")).status_code == 303
    async with db() as session:
        row = await session.get(WebhookEndpoint, webhook_id.group(1))
        assert row is not None and row.active is True

    deleted = await _post(
        browser_client,
        f"/console/webhooks/{webhook_id.group(1)}",
        f"/console/webhooks/{webhook_id.group(1)}/delete",
    )
    assert deleted.status_code == 303
    gone = await browser_client.get(f"/console/webhooks/{webhook_id.group(1)}")
    assert gone.status_code == 404


async def test_staff_create_and_edit_a_partner_with_stale_edit_shown(
    browser_client: Any, db: Any
) -> None:
    await sign_in(browser_client, "staff-li")
    partner_id = unique("camp")
    created = await _post(
        browser_client,
        "/console/partners",
        "/console/partners",
        id=partner_id,
        name="武警营区 Camp",
        zone="camp",
        contact_name="王干事",
    )
    assert created.status_code == 303, created.text
    again = await _post(
        browser_client,
        "/console/partners",
        "/console/partners",
        id=partner_id,
        name="x",
        zone="camp",
    )
    assert again.status_code == 409 and "已存在相同标识的记录" in again.text
    bad_zone = await _post(
        browser_client, "/console/partners", "/console/partners", name="x", zone="moon"
    )
    assert bad_zone.status_code == 422 and _field_error(bad_zone.text, "zone")

    edit_path = f"/console/partners/{partner_id}"
    opened = (await browser_client.get(edit_path)).text  # version 1, kept by the form
    first = await _post(
        browser_client, edit_path, edit_path, name="营区服务点", zone="camp", version="1"
    )
    assert first.status_code == 303
    stale = await browser_client.post(
        edit_path,
        data={"_csrf_token": csrf_of(opened), "name": "旧表单", "zone": "camp", "version": "1"},
    )
    assert stale.status_code == 412 and 'data-testid="stale"' in stale.text
    assert 'data-current="name">营区服务点<' in stale.text  # the record as it is now
    assert 'value="旧表单"' in stale.text  # and what was typed
    assert 'name="version" value="2"' in stale.text  # saving again is now possible
    async with db() as session:
        assert (await session.get(Partner, partner_id)).name == "营区服务点"  # type: ignore[union-attr]


async def test_resource_form_creates_with_policy_and_adds_units(
    browser_client: Any, client: Any, tokens: Any
) -> None:
    await _demo_partner(client, tokens)
    await sign_in(browser_client, "partner-shangnan")
    bad = await _post(
        browser_client,
        "/console/resources/new",
        "/console/resources/new",
        name="篮球场",
        kind="court",
        capacity="2",
        **{"policy.granularity_minutes": "7", "policy.approval": "staff"},
    )
    assert bad.status_code == 422
    assert _field_error(bad.text, "policy.granularity_minutes") == "必须能整除一天（1440 分钟）"
    created = await _post(
        browser_client,
        "/console/resources/new",
        "/console/resources/new",
        partner_id="someone-else",  # a partner creates for its own unit only
        name="篮球场 Courts",
        kind="court",
        units="1 号场\n2 号场",
        **{
            "policy.granularity_minutes": "30",
            "policy.min_duration_minutes": "30",
            "policy.approval": "staff",
        },
    )
    assert created.status_code in (303, 403), created.text
    assert created.status_code == 403  # the API's rule: only its own partner's resources

    created = await _post(
        browser_client,
        "/console/resources/new",
        "/console/resources/new",
        partner_id=DEMO_PARTNER,
        name="篮球场 Courts",
        kind="court",
        units="1 号场\n2 号场",
        **{
            "policy.granularity_minutes": "30",
            "policy.min_duration_minutes": "30",
            "policy.approval": "staff",
        },
    )
    assert created.status_code == 303, created.text
    resource_id = created.headers["location"].split("/")[3]
    api = ok(await client.get(f"/api/v1/resources/{resource_id}", headers=tokens.staff()))
    assert api["partner_id"] == DEMO_PARTNER and api["units"] == ["1 号场", "2 号场"]
    assert api["capacity"] == 2 and api["policy"]["granularity_minutes"] == 30
    assert api["policy"]["approval"] == "staff"

    edit_path = f"/console/resources/{resource_id}/edit"
    opened = (await browser_client.get(edit_path)).text
    added = await _post(
        browser_client,
        edit_path,
        edit_path,
        name="篮球场 Courts",
        kind="court",
        units="3 号场",
        version=str(api["version"]),
        **{"policy.horizon_days": "7"},
    )
    assert added.status_code == 303, added.text
    api = ok(await client.get(f"/api/v1/resources/{resource_id}", headers=tokens.staff()))
    assert api["units"] == ["1 号场", "2 号场", "3 号场"] and api["capacity"] == 3
    assert api["policy"]["horizon_days"] == 7 and api["policy"]["approval"] == "staff"

    stale = await browser_client.post(
        edit_path,
        data={"_csrf_token": csrf_of(opened), "name": "旧名字", "kind": "court", "version": "1"},
    )
    assert stale.status_code == 412 and 'data-testid="stale"' in stale.text
    assert 'data-current="units">1 号场, 2 号场, 3 号场<' in stale.text


async def test_print_view_lists_today_with_party_and_check_in(
    browser_client: Any, client: Any, tokens: Any, clock: Any
) -> None:
    await _demo_partner(client, tokens)
    morning = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    clock.set(morning.astimezone(UTC))  # 09:00 on a day of its own: the list is that day's
    canteen = await make_resource(
        client,
        tokens,
        DEMO_PARTNER,
        name=unique("长者食堂 Canteen"),
        kind="canteen",
        capacity=40,
        policy={"check_in_opens_minutes": 120},
    )
    await make_window(
        client, tokens, canteen["id"], start_time="00:00", end_time="24:00", audience="public"
    )
    starts = morning + timedelta(hours=2)
    body = {
        "resource_id": canteen["id"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "quantity": 3,
    }
    booking = ok(
        await client.post(
            "/api/v1/bookings", json=body, headers=tokens.resident(name="孙大爷 Sun")
        ),
        201,
    )
    await sign_in(browser_client, "partner-shangnan")
    printed = await browser_client.get("/console/gate/print")
    assert printed.status_code == 200
    assert "print.css" in printed.text and "<nav>" not in printed.text
    row = re.search(rf'<tr data-booking="{booking["id"]}".*?</tr>', printed.text, re.S)
    assert row, printed.text[:3000]
    assert "11:00–12:00" in row.group(0) and ">3<" in row.group(0) and "未签到" in row.group(0)
    assert "就餐名单" in printed.text  # a canteen's list is a diner list
    checked = await _post(
        browser_client, "/console/gate", f"/console/gate/{booking['id']}/check-in"
    )
    assert checked.status_code == 200 and "已签到" in checked.text
    printed = await browser_client.get(f"/console/gate/print?resource_id={canteen['id']}")
    row = re.search(rf'<tr data-booking="{booking["id"]}".*?</tr>', printed.text, re.S)
    assert row and "已签到" in row.group(0) and "✓" in row.group(0)


async def test_one_day_correction_beside_the_bulk_import(browser_client: Any, db: Any) -> None:
    await sign_in(browser_client, "staff-li")
    saved = await _post(
        browser_client,
        "/console/calendar",
        "/console/calendar/correct",
        day="2031-10-08",
        day_type="holiday",
        name="国庆调休",
    )
    assert saved.status_code == 200 and 'data-testid="corrected">' in saved.text
    row = re.search(r'data-day="2031-10-08">.*?</tr>', saved.text, re.S)
    assert row and "节假日" in row.group(0) and "国庆调休" in row.group(0)
    async with db() as session:
        row = await session.get(CalendarCorrection, datetime(2031, 10, 8).date())
        assert row is not None and row.day_type == "holiday" and row.name == "国庆调休"
    bad = await _post(
        browser_client,
        "/console/calendar",
        "/console/calendar/correct",
        day="2031-13-40",
        day_type="holiday",
    )
    assert bad.status_code == 422 and _field_error(bad.text, "date") == "不是有效日期（YYYY-MM-DD）"
    bad_type = await _post(
        browser_client,
        "/console/calendar",
        "/console/calendar/correct",
        day="2031-10-09",
        day_type="school_day",
    )
    assert bad_type.status_code == 422 and _field_error(bad_type.text, "day_type")
    removed = await _post(
        browser_client,
        "/console/calendar?month=2031-10",
        "/console/calendar/revert",
        day="2031-10-08",
    )
    assert removed.status_code == 200 and 'data-testid="reverted"' in removed.text
    async with db() as session:
        assert await session.get(CalendarCorrection, datetime(2031, 10, 8).date()) is None


async def test_merge_shows_both_then_merges_and_the_stored_view_is_logged(
    browser_client: Any, client: Any, tokens: Any, db: Any
) -> None:
    def resident(**fields: Any) -> Any:
        body = {"name": "刘奶奶 Liu", "community": "shangnan-1", **fields}
        return client.post("/api/v1/residents", json=body, headers=tokens.staff())

    keep = ok(await resident(), 201)
    duplicate = ok(await resident(phone="13912345678", tags=["elderly"]), 201)
    await sign_in(browser_client, "staff-li")
    shown = await browser_client.get(
        "/console/residents/merge", params={"survivor": keep["id"], "duplicate": duplicate["id"]}
    )
    assert f'data-record="{keep["id"]}"' in shown.text
    assert f'data-record="{duplicate["id"]}"' in shown.text
    unconfirmed = await browser_client.post(
        "/console/residents/merge",
        data={
            "_csrf_token": csrf_of(shown.text),
            "survivor_id": keep["id"],
            "duplicate_id": duplicate["id"],
        },
    )
    assert unconfirmed.status_code == 422 and _field_error(unconfirmed.text, "confirm")
    merged = await browser_client.post(
        "/console/residents/merge",
        data={
            "_csrf_token": csrf_of(shown.text),
            "survivor_id": keep["id"],
            "duplicate_id": duplicate["id"],
            "confirm": "yes",
        },
    )
    assert merged.status_code == 200 and 'data-testid="merged"' in merged.text
    async with db() as session:
        row = await session.get(User, duplicate["id"])
        assert row is not None and row.merged_into == keep["id"]
        assert (await session.get(User, keep["id"])).phone == "13912345678"  # type: ignore[union-attr]
    self_merge = await browser_client.post(
        "/console/residents/merge",
        data={
            "_csrf_token": csrf_of(shown.text),
            "survivor_id": keep["id"],
            "duplicate_id": duplicate["id"],
            "confirm": "yes",
        },
    )
    assert self_merge.status_code == 409  # the duplicate's id leads to the kept record now

    async def reads() -> int:
        async with db() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(PersonalDataAccess)
                    .where(PersonalDataAccess.resident_id == keep["id"])
                )
            )

    before = await reads()
    stored = await browser_client.get(f"/console/residents/{keep['id']}/stored")
    assert stored.status_code == 200 and 'data-testid="phone">13912345678<' in stored.text
    assert await reads() == before + 1  # showing the full record is a logged read
    log = await browser_client.get(
        "/console/personal-data-access", params={"resident_id": keep["id"], "actor": "staff-li"}
    )
    assert log.status_code == 200 and f"/console/residents/{keep['id']}/stored" in log.text
    assert log.text.count(f'<tr data-resident="{keep["id"]}">') == before + 1
    bad_since = await browser_client.get("/console/personal-data-access", params={"since": "x"})
    assert bad_since.status_code == 200 and _field_error(bad_since.text, "since")


@pytest.mark.parametrize(
    "path",
    [
        "/console/terms",
        "/console/webhooks",
        "/console/partners",
        "/console/resources/new",
        "/console/calendar/correct",
        "/console/residents/merge",
    ],
)
async def test_new_forms_refuse_a_post_without_csrf_token(
    browser_client: Any, db: Any, path: str
) -> None:
    await sign_in(browser_client, "staff-li")
    partner_id = unique("forged")
    fields = {
        "id": partner_id,
        "name": "x",
        "zone": "camp",
        "day": "2031-11-11",
        "day_type": "holiday",
    }
    response = await browser_client.post(path, data=fields)
    assert response.status_code == 403 and "text/html" in response.headers["content-type"]
    async with db() as session:
        assert await session.get(Partner, partner_id) is None
        assert await session.get(CalendarCorrection, datetime(2031, 11, 11).date()) is None
