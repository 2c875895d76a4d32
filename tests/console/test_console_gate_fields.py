"""The console's gate list shows each booking's fields that the viewer's role may read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.console.support import sign_in
from tests.support.builders import book, make_resource, make_window, ok, unique

DEMO_PARTNER = "shangnan-middle"


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
