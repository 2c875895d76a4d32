"""How many SQL statements a request costs: a plain booking and a capacity refusal, with the
resource's facts cached (the path every booking but a process's first takes) and cold.

Round trips bound the booking hot path (docs/performance.md). These counts are ceilings: a
change that adds a statement to one of these paths fails here and must say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from tests.support.builders import Tokens, book, make_partner, make_resource, make_window, ok

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")


@contextmanager
def counted(app) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs (BEGIN/COMMIT excluded)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        keyword = statement.split(None, 1)[0].upper()
        if keyword not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(keyword)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def at_eight(clock):
    clock.set(NOW)
    return clock


async def _track(client, tokens: Tokens, capacity: int = 10, **fields):
    resource = await make_resource(client, tokens, capacity=capacity, **fields)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    # The process caches the resource's facts once something reads them (an availability
    # read here); the counts below are those of the warm path every later booking takes.
    ok(await client.get(f"/api/v1/resources/{resource['id']}/availability", headers=tokens.staff()))
    return resource


async def test_a_booking_with_cold_facts_costs_at_most_the_documented_statements(
    app, client, tokens: Tokens, at_eight, db_kind
):
    resource = await make_resource(client, tokens, capacity=10)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    me = tokens.resident()
    ok(await client.get("/api/v1/bookings", headers=me))
    with counted(app) as statements:
        ok(await book(client, me, resource["id"], *EVENING), 201)
    assert len(statements) <= COLD_BOOKING[db_kind], statements


async def test_a_plain_booking_costs_at_most_the_documented_statements(
    app, client, tokens: Tokens, at_eight, db_kind
):
    resource = await _track(client, tokens)
    me = tokens.resident()
    ok(await client.get("/api/v1/bookings", headers=me))  # provision the caller first
    with counted(app) as statements:
        ok(await book(client, me, resource["id"], *EVENING), 201)
    assert len(statements) <= PLAIN_BOOKING[db_kind], statements


async def test_a_capacity_refusal_costs_at_most_the_documented_statements(
    app, client, tokens: Tokens, at_eight, db_kind
):
    resource = await _track(client, tokens, capacity=1)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    me = tokens.resident()
    ok(await client.get("/api/v1/bookings", headers=me))
    with counted(app) as statements:
        response = await book(client, me, resource["id"], *EVENING)
    assert response.status_code == 409, response.text
    assert len(statements) <= CAPACITY_REFUSAL[db_kind], statements


async def _search_statements(app, client, tokens: Tokens, kind: str, limit: int) -> list[str]:
    me = tokens.resident()
    ok(await client.get("/api/v1/bookings", headers=me))
    query = {"kind": kind, "limit": limit, "from": "2026-12-01", "to": "2026-12-02"}
    with counted(app) as statements:
        ok(await client.get("/api/v1/availability", params=query, headers=me))
    return statements


async def test_a_search_page_costs_the_same_statements_whatever_its_size(
    app, client, tokens: Tokens, at_eight, db_kind
):
    # Other tests make parking resources too: the pages hold at least these twelve.
    partner = await make_partner(client, tokens)
    for _ in range(12):
        resource = await make_resource(
            client, tokens, partner_id=partner["id"], kind="parking", capacity=5
        )
        await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    cold_small = await _search_statements(app, client, tokens, "parking", 2)
    cold_large = await _search_statements(app, client, tokens, "parking", 12)
    warm_small = await _search_statements(app, client, tokens, "parking", 2)
    warm_large = await _search_statements(app, client, tokens, "parking", 12)
    assert len(cold_small) <= SEARCH_COLD and len(cold_large) <= SEARCH_COLD, cold_large
    assert len(warm_small) == len(warm_large) <= SEARCH_WARM, warm_large


# Statements per request once the caller is known (BEGIN/COMMIT not counted), with the facts
# cached (scheduler/availability/facts.py): the caller; one statement for the holder's
# overlapping holdings, running suspensions, resource groups and the facts' two versions (on
# PostgreSQL one more row-locks the holder before it: a statement that waited for the lock
# would read the holdings as of its own start); the ledger read; the ledger's conditional
# upsert; the booking, its history entry and its outbox event (one statement on PostgreSQL,
# three on SQLite). A sold-out refusal stops after the ledger read and reads the ledger once
# more for alternatives. Before the cache: 14 / 15 for both; before the one-statement take and
# insert: 8 / 9.
PLAIN_BOOKING = {"sqlite": 7, "postgres": 6}
CAPACITY_REFUSAL = {"sqlite": 4, "postgres": 5}
# A process's first booking of a resource also reads the resource and its partner's zone,
# its windows, closures and terms, and the calendar corrections if not yet cached.
COLD_BOOKING = {"sqlite": 12, "postgres": 11}
# A search page: the caller, the count and the page of resources (with their facts_version),
# the caller's record and suspensions again (for the "for you" marks), one ledger read for
# every resource of the page with the calendar's version; cold, also the windows, closures and
# terms of all the page's uncached resources (three statements) and the calendar corrections.
# Before the cache: 4 + 5 per resource on the page.
SEARCH_WARM = 5
SEARCH_COLD = 9
