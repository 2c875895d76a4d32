"""When a reminder is due (core.reminders) and where its lead comes from (the resource's
policy, else SCHEDULER_REMINDER_LEAD_MINUTES)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.core.reminders import lead_minutes, reminder_state
from scheduler.settings import SettingsError, load_settings

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SECRET = {"SCHEDULER_JWT_SECRET": "x" * 32}


@pytest.mark.parametrize(
    ("lead", "before_start", "state"),
    [
        (120, timedelta(minutes=121), "wait"),
        (120, timedelta(minutes=120), "send"),
        (120, timedelta(minutes=1), "send"),  # late (downtime, or booked inside the lead)
        (120, timedelta(0), "missed"),  # the slot has started: never
        (120, -timedelta(hours=1), "missed"),
        (0, timedelta(minutes=30), "off"),
    ],
)
def test_reminder_state(lead, before_start, state):
    assert reminder_state(START, lead, START - before_start) == state


def test_the_resource_lead_wins_over_the_default():
    assert lead_minutes(None, 120) == 120
    assert lead_minutes(30, 120) == 30
    assert lead_minutes(0, 120) == 0


def test_the_default_lead_is_read_and_bounded():
    assert load_settings(SECRET).reminder_lead_minutes == 120
    env = {**SECRET, "SCHEDULER_REMINDER_LEAD_MINUTES": "45"}
    assert load_settings(env).reminder_lead_minutes == 45
    for bad in ("-1", "10081", "two hours"):
        with pytest.raises(SettingsError, match="REMINDER_LEAD_MINUTES"):
            load_settings({**SECRET, "SCHEDULER_REMINDER_LEAD_MINUTES": bad})
