"""The five zone kinds (read-only reference data)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from scheduler.auth.middleware import PUBLIC
from scheduler.core.zones import ZONES


class Zone(msgspec.Struct):
    key: str
    name_zh: str
    name_en: str
    description: str


class ZoneController(Controller):
    path = "/api/v1/zones"
    tags = ["Catalogue"]

    @get("/", operation_id="listZones", opt=PUBLIC, security=[{}])
    async def list_zones(self) -> list[Zone]:
        """The five kinds of zone of the five-zone linkage (no token needed)."""
        return [Zone(**zone._asdict()) for zone in ZONES]
