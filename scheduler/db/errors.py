"""Translate database exceptions into the service's error tree, by SQLSTATE where possible."""

from __future__ import annotations

from sqlalchemy import exc

from scheduler import errors

UNIQUE_VIOLATION = "23505"
EXCLUSION_VIOLATION = "23P01"
CHECK_VIOLATION = "23514"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"
# connection exceptions, insufficient resources (too many clients), operator intervention
DATA_EXCEPTION_CLASS = "22"
UNAVAILABLE_CLASSES = ("08", "53", "57P")


def sqlstate(error: exc.DBAPIError) -> str | None:
    """The SQLSTATE of a PostgreSQL error (asyncpg exposes it as ``sqlstate``)."""
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    cause = getattr(original, "__cause__", None)
    code = code or getattr(cause, "sqlstate", None)
    return str(code) if code else None


def translate(error: exc.SQLAlchemyError) -> errors.SchedulerError | None:
    """The expected error a database failure stands for, or None for a genuine bug."""
    if isinstance(error, exc.IntegrityError):
        code = sqlstate(error)
        if code == UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(error.orig):
            return errors.AlreadyExists(
                "An item with this identity was just created by another request."
            )
        return errors.Conflict("The change conflicts with the current state; re-read and retry.")
    if isinstance(error, exc.DBAPIError) and (sqlstate(error) or "").startswith(
        DATA_EXCEPTION_CLASS
    ):
        return errors.ValidationFailed(
            [
                errors.FieldError(
                    "body", "contains characters or values the database cannot store (e.g. NUL)"
                )
            ]
        )
    if isinstance(error, exc.DBAPIError) and sqlstate(error) in (
        SERIALIZATION_FAILURE,
        DEADLOCK_DETECTED,
        LOCK_NOT_AVAILABLE,
    ):
        return errors.ServiceUnavailable("The database is busy; retry shortly.", retry_after=1)
    code = sqlstate(error) if isinstance(error, exc.DBAPIError) else None
    unavailable = code is not None and code.startswith(UNAVAILABLE_CLASSES)
    if unavailable or isinstance(
        error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError
    ):
        return errors.ServiceUnavailable(
            "The database is unavailable; retry shortly.", retry_after=1
        )
    return None
