"""The capacity ledger takes a booking's quantity in all of its slots or in none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.ledger.repositories import CapacityLedger
from tests.support.builders import make_resource


async def test_acquire_is_all_or_nothing(client, tokens, db):
    resource = await make_resource(client, tokens, capacity=2)
    first = datetime(2027, 1, 5, 10, tzinfo=UTC)
    second = first + timedelta(hours=1)
    async with db() as session, session.begin():
        ledger = CapacityLedger(session)
        assert await ledger.take(resource["id"], [(second, 2)], 2) == []
        assert await ledger.take(resource["id"], [(first, 2), (second, 2)], 1) == [second]
        assert await ledger.held(resource["id"], first, second + timedelta(hours=1)) == {second: 2}
        assert await ledger.take(resource["id"], [(first, 2)], 2) == []
