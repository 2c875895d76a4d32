"""Checks on a verified token's time claims that PyJWT leaves to us.

PyJWT accepts any value ``int()`` can read, so ``"exp": "1999999999"`` (a string) passed; RFC
7519 makes the time claims NumericDate, a JSON number. An optional maximum token age
(``SCHEDULER_JWT_MAX_AGE_SECONDS``) bounds how long a leaked long-lived token stays useful,
whatever ``exp`` it carries; ``iat`` is then required.
"""

from __future__ import annotations

import math
import time
from typing import Any

from scheduler.errors import Unauthenticated
from scheduler.settings import Settings

TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_time_claims(settings: Settings, claims: dict[str, Any], now: float | None = None) -> None:
    """``exp``/``nbf``/``iat`` are numbers; with a maximum age, ``iat`` is present and recent
    enough. Any defect is 401 ``unauthenticated``."""
    for name in TIME_CLAIMS:
        if name in claims and not _is_number(claims[name]):
            raise Unauthenticated(f"The token's {name!r} claim must be a number (seconds).")
    now = time.time() if now is None else now
    # PyJWT checked this against its own clock; checked again here against the caller's, so
    # a token served from the cache of verified tokens expires by the same rule.
    if "exp" in claims and now >= claims["exp"] + settings.jwt_leeway_seconds:
        raise Unauthenticated("The token has expired.")
    max_age = settings.jwt_max_age_seconds
    if not max_age:
        return
    issued_at = claims.get("iat")
    if issued_at is None:
        raise Unauthenticated("The token must carry an 'iat' (issued at) claim.")
    age = now - issued_at
    if age > max_age + settings.jwt_leeway_seconds:
        raise Unauthenticated(
            f"The token was issued more than {max_age} seconds ago; get a new one."
        )
