"""The five kinds of zone of the five-zone linkage (五区联动)."""

from __future__ import annotations

from typing import NamedTuple


class Zone(NamedTuple):
    key: str
    name_zh: str
    name_en: str
    description: str


ZONES: tuple[Zone, ...] = (
    Zone("expo_park", "园区", "Expo park", "The Expo park along the river, e.g. Wangjiang station"),
    Zone("office", "办公区", "Office district", "Office buildings and their day-time parking"),
    Zone("camp", "营区", "Camp", "An armed-police camp's premises reused for public services"),
    Zone(
        "campus", "校区", "Campus", "Schools opening sports grounds to residents at staggered times"
    ),
    Zone("residential", "居民区", "Residential area", "Doorstep service stations, canteens, care"),
)
ZONE_KEYS: tuple[str, ...] = tuple(zone.key for zone in ZONES)
