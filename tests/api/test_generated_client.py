"""A client generated from the OpenAPI document reads refusals as typed values.

openapi-python-client (the generator city-app developers are most likely to use) turns each
refusal family into a model with a ``code`` enum and typed facts; a real ``capacity``
refusal must come back as ``CapacityRefusal`` with ``alternatives`` a list of models.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.builders import Tokens, book, make_resource, make_window, ok, unique

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, app) -> ModuleType:
    """The generated package ``zhoujiadu_client``, importable for this module's tests."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_text(json.dumps(app.openapi_schema.to_schema(), default=str))
    subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--path", str(document), "--meta", "none"),
            *("--output-path", str(root / "zhoujiadu_client")),
        ],
        check=True,
        capture_output=True,
        cwd=root,
    )
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("zhoujiadu_client")
    finally:
        sys.path.remove(str(root))


async def _call(
    generated: ModuleType, http: httpx.AsyncClient, headers: dict[str, str], api, body
) -> Any:
    """Call ``api`` through the generated client, carried by the test's own HTTP client (the
    app runs on that client's event loop)."""
    generated_client = generated.Client(base_url=str(http.base_url))
    generated_client.set_async_httpx_client(http)
    saved = dict(http.headers)
    http.headers.update(headers)
    try:
        return await api.asyncio_detailed(client=generated_client, body=body)
    finally:
        http.headers.clear()
        http.headers.update(saved)


async def test_a_capacity_refusal_parses_into_typed_alternatives(
    generated: ModuleType, client, tokens: Tokens, clock
):
    clock.set(NOW)
    resource = await make_resource(client, tokens, capacity=1)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)

    api = importlib.import_module("zhoujiadu_client.api.bookings.create_booking")
    models = importlib.import_module("zhoujiadu_client.models")
    headers = tokens.resident(sub=unique("li"))
    body = models.BookingCreate.from_dict(
        {"resource_id": resource["id"], "starts_at": EVENING[0], "ends_at": EVENING[1]}
    )
    response = await _call(generated, client, headers, api, body)

    assert response.status_code == 409
    refusal = response.parsed
    assert isinstance(refusal, models.CapacityRefusal), type(refusal)
    assert refusal.code == models.CapacityRefusalCode.CAPACITY
    assert refusal.rule == "capacity" and refusal.requested == 1
    assert isinstance(refusal.alternatives, list) and refusal.alternatives
    first = refusal.alternatives[0]
    assert isinstance(first, models.Alternative)
    assert isinstance(first.starts_at, datetime) and first.ends_at > first.starts_at
    assert [slot.starts_at for slot in refusal.full_slots] == [datetime.fromisoformat(EVENING[0])]


async def test_another_family_is_not_mistaken_for_capacity(
    generated: ModuleType, client, tokens: Tokens, clock
):
    clock.set(NOW)
    resource = await make_resource(client, tokens, capacity=5, policy={"horizon_days": 1})
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    api = importlib.import_module("zhoujiadu_client.api.bookings.create_booking")
    models = importlib.import_module("zhoujiadu_client.models")
    body = models.BookingCreate.from_dict(
        {
            "resource_id": resource["id"],
            "starts_at": "2026-12-05T18:00:00+08:00",
            "ends_at": "2026-12-05T19:00:00+08:00",
        }
    )
    response = await _call(generated, client, tokens.resident(), api, body)
    assert response.status_code == 409
    assert isinstance(response.parsed, models.TimingRefusal), type(response.parsed)
    assert response.parsed.code == models.TimingRefusalCode.HORIZON
    assert response.parsed.limit == 1
