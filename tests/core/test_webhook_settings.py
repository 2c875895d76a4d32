"""The webhook settings: the allow-list is validated when the service starts, and every limit
is read from its variable (docs/configuration.md)."""

from __future__ import annotations

import ipaddress

import pytest

from scheduler.settings import SettingsError, load_settings
from scheduler.webhooks.destinations import DestinationPolicy

SECRET = {"SCHEDULER_JWT_SECRET": "x" * 32}


def test_webhook_settings_are_read():
    settings = load_settings(
        {
            **SECRET,
            "SCHEDULER_WEBHOOK_ALLOW": " 10.20.0.0/16, receiver.internal ,::1,",
            "SCHEDULER_WEBHOOK_MAX_ENDPOINTS": "3",
            "SCHEDULER_WEBHOOK_ENDPOINT_CONCURRENCY": "2",
            "SCHEDULER_WEBHOOK_ENDPOINT_BUDGET_SECONDS": "7",
            "SCHEDULER_WEBHOOK_DISABLE_AFTER_FAILURES": "9",
        }
    )
    assert settings.webhook_allow == ("10.20.0.0/16", "receiver.internal", "::1")
    assert (
        settings.webhook_max_endpoints,
        settings.webhook_endpoint_concurrency,
        settings.webhook_endpoint_budget_seconds,
        settings.webhook_disable_after_failures,
    ) == (3, 2, 7, 9)
    policy = DestinationPolicy.from_settings(settings)
    assert policy.allows_host("RECEIVER.internal.")
    assert policy.allows_address(ipaddress.ip_address("10.20.3.4"))
    assert not policy.allows_address(ipaddress.ip_address("10.21.0.1"))


def test_by_default_no_internal_destination_is_allowed():
    settings = load_settings(SECRET)
    assert (settings.webhook_allow, settings.webhook_max_endpoints) == ((), 10)
    policy = DestinationPolicy.from_settings(settings)
    assert not policy.allows_address(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_ALLOW", "10.0.0.0/33"),
        ("WEBHOOK_ALLOW", "http://receiver.internal/"),
        ("WEBHOOK_ALLOW", "bad_name!"),
        ("WEBHOOK_MAX_ENDPOINTS", "0"),
        ("WEBHOOK_ENDPOINT_CONCURRENCY", "0"),
        ("WEBHOOK_ENDPOINT_BUDGET_SECONDS", "soon"),
        ("WEBHOOK_DISABLE_AFTER_FAILURES", "0"),
    ],
)
def test_bad_webhook_settings_stop_the_service(name, value):
    with pytest.raises(SettingsError, match=f"SCHEDULER_{name}"):
        load_settings({**SECRET, f"SCHEDULER_{name}": value})
