"""The one error tree of the service.

Every expected failure is a ``SchedulerError`` subclass with a stable machine-readable ``code``,
a human ``title`` and an HTTP ``status``. ``problems.py`` renders them as RFC 9457
problem+json; each code is documented in docs/errors.md. This module imports nothing of ours.
"""

from __future__ import annotations

from typing import Any


class SchedulerError(Exception):
    """Base of every expected error; ``extensions`` become extra problem members."""

    code: str = "error"
    title: str = "Error"
    status: int = 400

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        # True when work done earlier in the request (a lottery draw) must be committed even
        # though this error refuses the rest of it.
        self.keep_prior_work = False
        self.detail = detail or self.title
        self.extensions = {key: value for key, value in extensions.items() if value is not None}
        super().__init__(self.detail)


class FieldError(dict[str, str]):
    """One offending input field: ``{"field": ..., "message": ...}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ValidationFailed(SchedulerError):
    code = "validation_error"
    title = "The request is not valid"
    status = 422

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        summary = detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(summary, errors=errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])


class LimitExceeded(SchedulerError):
    """A documented limit (windows or closures per resource, slots per answer) is reached;
    ``limit`` is the limit, ``errors`` names the field or parameter to change."""

    code = "limit_exceeded"
    title = "A documented limit is reached"
    status = 422

    def __init__(self, field: str, message: str, limit: int) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(field, message)], limit=limit)


class MalformedRequest(SchedulerError):
    code = "malformed_request"
    title = "The request body could not be read"
    status = 400


class Unauthenticated(SchedulerError):
    code = "unauthenticated"
    title = "Authentication required"
    status = 401


class Forbidden(SchedulerError):
    code = "forbidden"
    title = "Not allowed"
    status = 403


class NotFound(SchedulerError):
    code = "not_found"
    title = "Not found"
    status = 404


class MethodNotAllowed(SchedulerError):
    code = "method_not_allowed"
    title = "Method not allowed"
    status = 405


class NotAcceptable(SchedulerError):
    code = "not_acceptable"
    title = "No acceptable representation"
    status = 406


class Conflict(SchedulerError):
    code = "conflict"
    title = "Conflict with the current state"
    status = 409


class ResourceInUse(Conflict):
    code = "resource_in_use"
    title = "The resource still has active bookings"


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "An item with this identity already exists"


class PreconditionFailed(SchedulerError):
    code = "precondition_failed"
    title = "The item changed since you read it"
    status = 412


class PayloadTooLarge(SchedulerError):
    code = "payload_too_large"
    title = "Request body too large"
    status = 413


class UnsupportedMediaType(SchedulerError):
    code = "unsupported_media_type"
    title = "Unsupported media type"
    status = 415


class RateLimited(SchedulerError):
    code = "rate_limited"
    title = "Too many requests"
    status = 429


class ServiceUnavailable(SchedulerError):
    code = "service_unavailable"
    title = "Service unavailable"
    status = 503


class InternalError(SchedulerError):
    code = "internal_error"
    title = "Internal server error"
    status = 500


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This change is not possible in the booking's current state"


class StandingOrderState(Conflict):
    """Pause, resume or end asked of a standing order whose status does not allow it."""

    code = "standing_order_state"
    title = "This change is not possible in the standing order's current state"


class IdempotencyKeyReused(SchedulerError):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"
    status = 422


class SeriesRefused(Conflict):
    code = "series_refused"
    title = "The series could not be booked"


class BookingRefused(SchedulerError):
    """A booking rule refused the request. Its code, status and title come from the refusal
    registry (``scheduler.core.refusals``), its extension members from the refusal's facts."""

    def __init__(self, code: str, status: int, title: str, detail: str, **facts: object) -> None:
        super().__init__(detail, **facts)
        self.code, self.status, self.title = code, status, title


# Webhooks (docs/webhooks.md#where-webhooks-may-be-sent, #limits)


class WebhookDestinationForbidden(SchedulerError):
    """The URL's host is loopback, private, link-local or otherwise not public (SSRF)."""

    code = "webhook_destination_forbidden"
    title = "Webhooks may only be sent to public addresses"
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(f"url: {reason}", errors=[FieldError("url", reason)])


class WebhookLimitReached(SchedulerError):
    code = "webhook_limit_reached"
    title = "This partner has as many webhook endpoints as allowed"
    status = 422

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"At most {limit} webhook endpoints per partner; delete one first.", limit=limit
        )


# --- the edge: slow clients (docs/reliability.md#slow-clients) ---
class RequestTimeout(SchedulerError):
    code = "request_timeout"
    title = "The request body did not arrive in time"
    status = 408


# --- allocation rounds (docs/allocation-rounds.md) ---
class RoundNotOpen(Conflict):
    """Applications are taken, changed and withdrawn only while the round is open and its
    application period runs; ``state``, ``applications_open_at`` and ``_close_at`` say when."""

    code = "round_not_open"
    title = "The round does not take applications now"


class RoundStateConflict(Conflict):
    """A staff action the round's current ``state`` does not allow; ``allowed_from`` lists the
    states it is possible from."""

    code = "round_state_conflict"
    title = "This is not possible in the round's current state"


class AllocationOverCapacity(Conflict):
    """Granting the slot would give more than the resource's capacity beside the slots already
    granted at that time (``granted_slot_ids``)."""

    code = "allocation_over_capacity"
    title = "The slot does not fit beside the slots already granted"
