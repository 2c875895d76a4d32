"""Booking fields in the console: the gate list shows those the viewer's role may read, and a
worker booking for a resident fills in the chosen resource's fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.console.support import csrf_of, sign_in
from tests.support.builders import book, make_resource, make_window, ok, unique

DEMO_PARTNER = "shangnan-middle"
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_gate_list_shows_the_plate_but_not_a_staff_only_field(
    client: Any, browser_client: Any, tokens: Any, clock: Any
) -> None:
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    partner = {"id": DEMO_PARTNER, "name": "上南中学 Shangnan Middle School", "zone": "campus"}
    created = await client.post("/api/v1/partners", json=partner, headers=tokens.staff())
    assert created.status_code in (201, 409), created.text
    fields = [
        {
            "name": "plate",
            "type": "plate",
            "label_zh": "车牌",
            "label_en": "Plate",
            "visible_to": ["staff", "partner"],
        },
        {"name": "remark", "label_en": "Remark", "label_zh": "内部备注", "visible_to": ["staff"]},
    ]
    resource = await make_resource(
        client,
        tokens,
        DEMO_PARTNER,
        name=unique("Car park"),
        kind="parking",
        capacity=None,
        units=["P1"],
        booking_fields=fields,
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="20:00")
    booking = ok(
        await book(
            client,
            tokens.resident(),
            resource["id"],
            "2026-11-28T18:00:00+08:00",
            "2026-11-28T19:00:00+08:00",
            fields={"plate": "沪A12345", "remark": "secret-remark"},
        ),
        201,
    )
    await sign_in(browser_client, "partner-shangnan")
    page = await browser_client.get("/console/gate", params={"resource_id": resource["id"]})
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-booking="{booking["id"]}".*?</tr>', page.text, re.S)
    assert row is not None, page.text
    assert re.search(r"(车牌|Plate): 沪A12345", row.group(0)), row.group(0)
    assert "secret-remark" not in page.text
    await sign_in(browser_client, "staff-li")
    staff_page = await browser_client.get("/console/gate", params={"resource_id": resource["id"]})
    assert "secret-remark" in staff_page.text


async def test_worker_books_a_lunch_with_its_meal(
    client: Any, browser_client: Any, tokens: Any, clock: Any
) -> None:
    canteen = await make_resource(
        client,
        tokens,
        name=unique("食堂 Canteen"),
        kind="canteen",
        capacity=40,
        policy={"granularity_minutes": 60, "min_duration_minutes": 60},
        booking_fields=[
            {
                "name": "meal",
                "type": "choice",
                "label_zh": "餐食",
                "label_en": "Meal",
                "choices": ["standard", "soft"],
                "required": True,
            },
            {"name": "guests", "type": "integer", "label_en": "Guests", "label_zh": "同行"},
        ],
    )
    await make_window(
        client, tokens, canteen["id"], start_time="00:00", end_time="24:00", audience="public"
    )
    body = {"name": unique("居民"), "community": "shangnan-1"}
    resident = ok(await client.post("/api/v1/residents", json=body, headers=tokens.staff()), 201)
    await sign_in(browser_client, "worker-zhao")
    url = f"/console/residents/{resident['id']}/book"
    csrf = csrf_of((await browser_client.get(url)).text)
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    form = {
        "_csrf_token": csrf,
        "resource_id": canteen["id"],
        "day": tomorrow,
        "start": "11:00",
        "end": "12:00",
        "quantity": "1",
        "intent": "book",
    }
    first = await browser_client.post(url, data=form)
    assert first.status_code == 422
    assert 'data-field="fields.meal"' in first.text  # the meal is asked for, next to its select
    assert 'name="fields.meal"' in first.text and 'name="fields.guests"' in first.text
    booked = await browser_client.post(
        url, data={**form, "fields.meal": "soft", "fields.guests": "2"}
    )
    assert booked.status_code == 200, booked.text[:2000]
    found = re.search(r'data-testid="booked-id">([^<]+)<', booked.text)
    assert found, booked.text[:2000]
    booking = ok(await client.get(f"/api/v1/bookings/{found.group(1)}", headers=tokens.staff()))
    assert booking["fields"] == {"meal": "soft", "guests": 2}
