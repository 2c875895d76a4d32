"""GET /metrics: Prometheus exposition that parses, latency by route template, booking,
draw and job counters, and the outbox backlog measured at scrape time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from scheduler.db.bookings import OutboxEvent, WebhookDelivery
from scheduler.jobs import tasks
from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_resource,
    make_window,
    ok,
    unique,
)

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")
LATENCY = "scheduler_http_request_duration_seconds"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def track(client, tokens: Tokens, **policy):
    resource = await make_resource(client, tokens, capacity=2, policy=policy or None)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
    return resource


async def test_exposition_parses_and_times_requests_by_route_template(client, tokens: Tokens):
    resource = await track(client, tokens)
    route = "/api/v1/resources/{resource_id}"
    before = await scrape(client)
    for _ in range(2):
        ok(await client.get(f"/api/v1/resources/{resource['id']}", headers=tokens.resident()))
    after = await scrape(client)
    count = f"{LATENCY}_count"
    assert delta(before, after, count, method="GET", route=route) == 2
    assert value(after, f"{LATENCY}_bucket", method="GET", route=route, le="+Inf") >= 2
    requests = "scheduler_http_requests_total"
    assert delta(before, after, requests, method="GET", route=route, status="200") == 2
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert not any(resource["id"] in r for r in routes), "raw ids must never become labels"
    assert value(after, count, method="GET", route="/metrics") >= 1


async def test_bookings_are_counted_by_outcome_status_and_refusal_code(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    resource = await track(client, tokens)
    me = tokens.resident(sub=unique("counted"))
    before = await scrape(client)
    ok(await book(client, me, resource["id"], *EVENING, quantity=2), 201)
    assert_problem(await book(client, me, resource["id"], *EVENING), 409, "capacity")
    morning = ("2026-12-01T10:00:00+08:00", "2026-12-01T11:00:00+08:00")
    assert_problem(await book(client, me, resource["id"], *morning), 409, "outside_window")
    dry = await client.post(
        "/api/v1/bookings?dry_run=true",
        json={"resource_id": resource["id"], "starts_at": morning[0], "ends_at": morning[1]},
        headers=me,
    )
    assert_problem(dry, 409, "outside_window")
    after = await scrape(client)
    name = "scheduler_bookings_total"
    assert delta(before, after, name, outcome="created", status="confirmed", code="") == 1
    assert delta(before, after, name, outcome="refused", status="", code="capacity") == 1
    # The dry run is not counted: one refusal, not two.
    assert delta(before, after, name, outcome="refused", status="", code="outside_window") == 1


async def test_series_occurrences_are_counted(client, tokens: Tokens, clock):
    clock.set(NOW)
    resource = await track(client, tokens)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING, quantity=2), 201)
    body = {
        "resource_id": resource["id"],
        "starts_at": EVENING[0],
        "ends_at": EVENING[1],
        "rrule": "FREQ=DAILY;COUNT=3",
        "mode": "best_effort",
    }
    before = await scrape(client)
    made = await client.post("/api/v1/bookings/series", json=body, headers=tokens.resident())
    series = ok(made, 201)
    assert (series["booked"], series["refused"]) == (2, 1)
    after = await scrape(client)
    name = "scheduler_bookings_total"
    assert delta(before, after, name, outcome="created", status="confirmed", code="") == 2
    assert delta(before, after, name, outcome="refused", status="", code="capacity") == 1


async def test_lottery_draws_are_counted(client, tokens: Tokens, clock):
    release = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    resource = await track(
        client, tokens, release={"days_ahead": 7, "at": "09:00"}, allocation="lottery"
    )
    slot = ("2026-12-08T19:00:00+08:00", "2026-12-08T20:00:00+08:00")
    clock.set(release - timedelta(hours=1))
    ok(await book(client, tokens.resident(), resource["id"], *slot), 202)
    before = await scrape(client)
    clock.set(release + timedelta(seconds=1))
    ok(await book(client, tokens.resident(), resource["id"], *slot), 201)  # draws first
    after = await scrape(client)
    assert delta(before, after, "scheduler_lottery_draws_total") == 1


async def test_job_runs_and_failures_are_counted(client, db, clock):
    before = await scrape(client)
    tasks.bind(tasks.Runtime(db, clock))
    try:
        assert await tasks.run_draw("res-that-does-not-exist", NOW.isoformat()) is False
        with pytest.raises(ValueError):
            await tasks.run_draw("res-that-does-not-exist", "not an instant")
    finally:
        tasks.bind(None)
    after = await scrape(client)
    assert delta(before, after, "scheduler_job_runs_total", job="draw") == 2
    assert delta(before, after, "scheduler_job_failures_total", job="draw") == 1


async def test_outbox_backlog_is_measured_at_scrape_time(client, tokens: Tokens, clock, db):
    clock.set(NOW)
    resource = await track(client, tokens)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    samples = await scrape(client)
    async with db() as session:
        events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
        deliveries = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
        )
    assert ("scheduler_outbox_backlog", frozenset()) in samples
    assert value(samples, "scheduler_outbox_backlog") == events + deliveries >= 1


def test_multiprocess_mode_sums_the_workers_samples(tmp_path: Path):
    """With PROMETHEUS_MULTIPROC_DIR set, two processes' counters add up in one scrape."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    worker = "from scheduler import metrics; metrics.count_booking('confirmed')"
    reader = textwrap.dedent(
        """
        from prometheus_client.parser import text_string_to_metric_families
        from scheduler import metrics
        text = metrics.exposition(7).decode()
        values = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples
        }
        key = ("scheduler_bookings_total",
               (("code", ""), ("outcome", "created"), ("status", "confirmed")))
        print(values[key], values[("scheduler_outbox_backlog", ())])
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, "-c", reader], env=env, check=True, timeout=60, capture_output=True
    )
    assert result.stdout.decode().split() == ["2.0", "7.0"]
