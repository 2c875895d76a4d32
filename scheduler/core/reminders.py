"""When a booking's reminder is due: a lead before its start, once, never after it started.

The lead is the resource's ``policy.reminder_minutes`` when set, else the service's default
(``SCHEDULER_REMINDER_LEAD_MINUTES``); 0 turns reminders off. A reminder is sent at the first
duty run at or after ``start - lead`` and before ``start``: after downtime a reminder whose
moment passed is sent late if the slot has not started yet, and not at all once it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# The duty looks this far ahead; a lead may not be longer (policy and setting both cap it).
LONGEST_LEAD_MINUTES = 7 * 1440
# SCHEDULER_REMINDER_LEAD_MINUTES when unset: two hours, time to leave home for the slot.
DEFAULT_LEAD_MINUTES = 120

ReminderState = Literal["off", "wait", "send", "missed"]


def lead_minutes(policy_minutes: int | None, default_minutes: int) -> int:
    """The resource's own lead if it has one, else the service's default."""
    return default_minutes if policy_minutes is None else policy_minutes


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder that is due: how long before the start it was meant, and for when."""

    lead_minutes: int
    due_at: datetime


def reminder_state(starts_at: datetime, lead: int, now: datetime) -> ReminderState:
    """``off`` (no reminders), ``wait`` (not yet), ``send`` (due now) or ``missed`` (the
    slot has started: too late to remind, whatever the reason it was not sent)."""
    if lead <= 0:
        return "off"
    if now >= starts_at:
        return "missed"
    if now < due_at(starts_at, lead):
        return "wait"
    return "send"


def due_at(starts_at: datetime, lead: int) -> datetime:
    return starts_at - timedelta(minutes=lead)
