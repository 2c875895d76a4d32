"""Every public webhook event type is documented: a row in the events table of
docs/webhooks.md (each type there is a promise to integrators)."""

from __future__ import annotations

import re
from pathlib import Path

from scheduler.webhooks.schemas import EVENT_TYPES

WEBHOOKS_DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_every_event_type_has_a_row_in_the_events_table():
    text = WEBHOOKS_DOC.read_text(encoding="utf-8")
    table = text[text.index("## Events") : text.index("## The request")]
    rows = set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE))
    assert rows == set(EVENT_TYPES)
