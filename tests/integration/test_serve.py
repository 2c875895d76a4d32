"""The README's run command: demo data on SQLite, docs UI, and printed tokens that work."""

from __future__ import annotations

import re

import httpx

from tests.support.server import running_server


def test_demo_serve_on_sqlite(tmp_path):
    env = {
        "SCHEDULER_DATA_DIR": str(tmp_path),
        "SCHEDULER_DATABASE_URL": "",
        "SCHEDULER_JWT_SECRET": "",
        "SCHEDULER_DEMO": "",
    }
    log = tmp_path / "server.log"
    with running_server(["demo", "--serve"], env, log) as (base_url, _):
        output = log.read_text()
        assert "/schema" in output and "DEMO MODE" in output
        tokens = dict(re.findall(r"^  (\w+)\s+\S+\s+(\S+)$", output, flags=re.MULTILINE))
        assert set(tokens) == {"resident", "worker", "partner", "staff", "admin"}
        assert httpx.get(f"{base_url}/health").status_code == 200
        assert httpx.get(f"{base_url}/ready").json()["status"] == "ok"
        docs = httpx.get(f"{base_url}/schema")
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        assert httpx.get(f"{base_url}/schema/swagger").status_code == 200
        spec = httpx.get(f"{base_url}/schema/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        for role, token in tokens.items():
            listed = httpx.get(
                f"{base_url}/api/v1/resources?zone=campus&limit=200",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert listed.status_code == 200, (role, listed.text)
            assert listed.json()["total"] == 17
        assert (tmp_path / "scheduler.db").exists()
