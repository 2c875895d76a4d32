"""Booking policy: defaults and cross-field consistency."""

from __future__ import annotations

import msgspec
import pytest

from scheduler.core.policy import Policy, policy_errors
from scheduler.core.release import ReleasePolicy


def test_default_policy_is_consistent() -> None:
    policy = Policy()
    assert policy_errors(policy) == []
    assert (policy.granularity_minutes, policy.approval, policy.release) == (60, "auto", None)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"granularity_minutes": 45, "min_duration_minutes": 45, "max_duration_minutes": 90}, []),
        ({"granularity_minutes": 15, "min_duration_minutes": 15}, []),
        (
            {
                "granularity_minutes": 1440,
                "min_duration_minutes": 1440,
                "max_duration_minutes": 1440,
            },
            [],
        ),
        ({"granularity_minutes": 7}, ["policy.granularity_minutes"]),  # 1440 % 7 != 0
        ({"granularity_minutes": 50}, ["policy.granularity_minutes"]),
        ({"granularity_minutes": 30, "min_duration_minutes": 45}, ["policy.min_duration_minutes"]),
        ({"max_duration_minutes": 90}, ["policy.max_duration_minutes"]),
        (
            {"min_duration_minutes": 120, "max_duration_minutes": 60},
            ["policy.max_duration_minutes"],
        ),
        ({"release": ReleasePolicy()}, ["policy.release"]),
        ({"release": ReleasePolicy(days_ahead=7, weekday="MON")}, ["policy.release"]),
        ({"release": ReleasePolicy(days_ahead=7, at="09:00")}, []),
    ],
)
def test_policy_errors(fields: dict[str, object], expected: list[str]) -> None:
    assert [field for field, _ in policy_errors(Policy(**fields))] == expected  # type: ignore[arg-type]


def test_granularity_error_stops_further_checks() -> None:
    """With a granularity that does not divide a day, multiples are meaningless: one error."""
    errors = policy_errors(Policy(granularity_minutes=7, min_duration_minutes=60))
    assert errors == [("policy.granularity_minutes", "must divide a day (1440 minutes) evenly")]


def test_policy_decodes_a_nested_release_and_refuses_unknown_fields() -> None:
    policy = msgspec.json.decode(
        b'{"granularity_minutes": 30, "release": {"days_ahead": 5, "at": "00:00"}}', type=Policy
    )
    assert policy.release == ReleasePolicy(days_ahead=5, at="00:00")
    assert policy.min_duration_minutes == 60
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"granularity": 30}', type=Policy)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"granularity_minutes": 4}', type=Policy)
