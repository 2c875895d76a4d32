"""Settings come from SCHEDULER_* variables only, and bad values stop the service early."""

from __future__ import annotations

import pytest

from scheduler.settings import DEMO_JWT_SECRET, SettingsError, load_settings

SECRET = "s" * 40


def test_defaults_use_a_sqlite_file_in_the_data_directory():
    settings = load_settings({"SCHEDULER_JWT_SECRET": SECRET})
    assert settings.effective_database_url == "sqlite+aiosqlite:///data/scheduler.db"
    assert settings.default_timezone == "Asia/Shanghai"
    assert settings.log_level == "INFO"
    assert not settings.demo and not settings.warnings


def test_a_secret_is_required_outside_demo_mode():
    with pytest.raises(SettingsError, match="SCHEDULER_JWT_SECRET"):
        load_settings({})
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings({"SCHEDULER_JWT_SECRET": "short"})


def test_demo_mode_uses_the_builtin_secret_loudly():
    settings = load_settings({"SCHEDULER_DEMO": "true"})
    assert settings.jwt_secret == DEMO_JWT_SECRET
    assert any("DEMO MODE" in warning for warning in settings.warnings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base"),
        ("LOG_LEVEL", "CHATTY"),
        ("DB_POOL_SIZE", "zero"),
        ("DB_POOL_SIZE", "0"),
        ("DEMO", "perhaps"),
    ],
)
def test_bad_values_are_refused(name, value):
    with pytest.raises(SettingsError):
        load_settings({"SCHEDULER_JWT_SECRET": SECRET, f"SCHEDULER_{name}": value})


def test_values_are_read():
    settings = load_settings(
        {
            "SCHEDULER_JWT_SECRET": SECRET,
            "SCHEDULER_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "SCHEDULER_DEFAULT_TIMEZONE": "Europe/Berlin",
            "SCHEDULER_LOG_LEVEL": "debug",
        }
    )
    assert settings.effective_database_url == "postgresql+asyncpg://u@h/db"
    assert not settings.is_sqlite
    assert (settings.default_timezone, settings.log_level) == ("Europe/Berlin", "DEBUG")


# --- job scheduler reliability (issue 11) ---
def test_job_scheduler_bounds_are_read_and_checked():
    settings = load_settings(
        {
            "SCHEDULER_JWT_SECRET": SECRET,
            "SCHEDULER_JOBS_STALE_SECONDS": "300",
            "SCHEDULER_SQLITE_BUSY_TIMEOUT_SECONDS": "5",
        }
    )
    assert (settings.jobs_stale_seconds, settings.sqlite_busy_timeout_seconds) == (300, 5)
    assert load_settings({"SCHEDULER_JWT_SECRET": SECRET}).jobs_stale_seconds == 120
    with pytest.raises(SettingsError, match="twice SCHEDULER_JOBS_INTERVAL_SECONDS"):
        load_settings(
            {
                "SCHEDULER_JWT_SECRET": SECRET,
                "SCHEDULER_JOBS_INTERVAL_SECONDS": "60",
                "SCHEDULER_JOBS_STALE_SECONDS": "100",
            }
        )
    for name, value in (("JOBS_STALE_SECONDS", "4"), ("SQLITE_BUSY_TIMEOUT_SECONDS", "0")):
        with pytest.raises(SettingsError):
            load_settings({"SCHEDULER_JWT_SECRET": SECRET, f"SCHEDULER_{name}": value})
