"""Personal data: retention removes the personal data of long-inactive residents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.duties.services import DUTIES, DutyService
from tests.support.builders import Tokens, ok

CREATED = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


async def test_retention_anonymises_only_residents_inactive_for_the_set_months(
    client, tokens: Tokens, clock, db
):
    assert "anonymise_inactive" in DUTIES
    clock.set(CREATED)
    staff = tokens.staff()
    body = {
        "name": "张大爷",
        "community": "shangnan-2",
        "tags": ["elderly"],
        "phone": "13812345678",
    }
    quiet = ok(await client.post("/api/v1/residents", json=body, headers=staff), 201)
    later = CREATED + timedelta(days=200)
    clock.set(later)
    active = ok(
        await client.post("/api/v1/residents", json={**body, "name": "王阿姨"}, headers=staff), 201
    )
    async with db() as session, session.begin():
        assert await DutyService(session).anonymise_inactive(later) == 0  # retention off
    async with db() as session, session.begin():
        assert await DutyService(session, retention_months=6).anonymise_inactive(later) == 1
    gone = ok(await client.get(f"/api/v1/residents/{quiet['id']}", headers=staff))
    assert (gone["name"], gone["tags"], gone["phone_masked"]) == ("", [], None)
    assert gone["anonymised_at"] is not None and gone["community"] == "shangnan-2"
    kept = ok(await client.get(f"/api/v1/residents/{active['id']}", headers=staff))
    assert kept["name"] == "王阿姨" and kept["phone_masked"] == "138****5678"
