"""Minting and verifying the service's bearer tokens (JWT, HS256 or RS256)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from scheduler.auth.claims import check_time_claims
from scheduler.errors import FieldError, Unauthenticated, ValidationFailed
from scheduler.settings import Settings

ROLES = ("resident", "worker", "partner", "staff", "admin")
MAX_COMMUNITIES = 20
MAX_CLAIM_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as stated by a verified token."""

    sub: str
    role: str
    name: str = ""
    partner: str | None = None
    community: str | None = None
    tags: tuple[str, ...] = field(default=())
    # A neighbourhood worker's communities: the residents they may find, edit and book for.
    communities: tuple[str, ...] = field(default=())

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin")

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"


def mint_token(
    settings: Settings,
    *,
    sub: str,
    role: str,
    partner: str | None = None,
    name: str | None = None,
    community: str | None = None,
    tags: list[str] | None = None,
    communities: list[str] | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """Sign an HS256 token with the configured secret (development and operations)."""
    if role not in ROLES:
        raise ValidationFailed.one("role", f"must be one of {', '.join(ROLES)}")
    if role == "partner" and not partner:
        raise ValidationFailed.one("partner", "required for role partner")
    if role == "worker" and not communities:
        raise ValidationFailed.one("communities", "required for role worker")
    if not settings.jwt_secret:
        raise ValidationFailed.one("jwt_secret", "minting needs SCHEDULER_JWT_SECRET")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": now, "nbf": now}
    claims["exp"] = now + ttl_seconds
    for key, value in (("partner", partner), ("name", name), ("community", community)):
        if value:
            claims[key] = value
    if tags:
        claims["tags"] = tags
    if communities:
        claims["communities"] = communities
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _verify(settings: Settings, token: str) -> dict[str, Any]:
    if settings.jwt_public_key:
        key, algorithms = settings.jwt_public_key, ["RS256"]
    else:
        key, algorithms = settings.jwt_secret, ["HS256"]
    options = {"require": ["exp", "sub"], "verify_aud": bool(settings.jwt_audience)}
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience or None,
            issuer=settings.jwt_issuer or None,
            leeway=settings.jwt_leeway_seconds,
            options=options,  # type: ignore[arg-type]
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthenticated("The token is not valid yet.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The token is invalid.") from exc
    return claims


def _printable(value: str) -> bool:
    """Text a database can store and a log line can hold: no lone surrogate (JSON allows
    ``"\\ud800"``, UTF-8 cannot encode it) and no control character."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(char) < 32 or 127 <= ord(char) < 160 for char in value)


def _claim(claims: dict[str, Any], key: str) -> str | None:
    value = claims.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLAIM_LENGTH or not _printable(value):
        raise Unauthenticated(
            f"The token's {key!r} claim is malformed.",
            errors=[FieldError(key, "must be a printable string of at most 200 characters")],
        )
    return value or None


class VerifiedTokens:
    """Tokens already verified by this process, so a client's every request does not pay
    for the signature check and the claim checks again (HS256 and RS256 alike).

    A token is served from here only until the earliest instant verification would refuse
    it: its ``exp`` (plus the configured leeway) or, with a maximum token age, ``iat`` plus
    that age. Only valid tokens are kept, keyed by the whole token string, so a changed
    token is verified anew. At most ``size`` tokens; the oldest go first."""

    def __init__(
        self, settings: Settings, size: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.size = size
        self.clock = clock
        self._known: dict[str, tuple[Principal, float]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def principal(self, token: str) -> Principal:
        """The caller ``token`` names; any defect is 401 ``unauthenticated``."""
        known = self._known.get(token)
        if known is not None:
            if self.clock() < known[1]:
                return known[0]
            del self._known[token]
        claims = _verify(self.settings, token)
        check_time_claims(self.settings, claims, now=self.clock())
        principal = principal_from_claims(claims)
        if len(self._known) >= self.size:
            del self._known[next(iter(self._known))]
        self._known[token] = (principal, self._valid_until(claims))
        return principal

    def _valid_until(self, claims: dict[str, Any]) -> float:
        leeway = self.settings.jwt_leeway_seconds
        until = float(claims["exp"]) + leeway
        if self.settings.jwt_max_age_seconds:
            until = min(until, float(claims["iat"]) + self.settings.jwt_max_age_seconds + leeway)
        return until


def principal_from_claims(
    claims: dict[str, Any], role_claim: str = "role", partner_claim: str = "partner"
) -> Principal:
    """The caller stated by verified ``claims`` (an API token's, or the console's OpenID
    Connect ID token's, whose role and partner claims may be named otherwise)."""
    sub = _claim(claims, "sub")
    role = _claim(claims, role_claim)
    if not sub:
        raise Unauthenticated("The token has no subject.")
    if role not in ROLES:
        raise Unauthenticated("The token's role is not one of " + ", ".join(ROLES) + ".")
    partner = _claim(claims, partner_claim)
    if role == "partner" and not partner:
        raise Unauthenticated("A partner token must carry a 'partner' claim.")
    raw_tags = _string_list(claims, "tags")
    communities = _string_list(claims, "communities")
    if role == "worker" and not communities:
        raise Unauthenticated("A worker token must carry a 'communities' claim.")
    return Principal(
        sub=sub,
        role=role,
        name=_claim(claims, "name") or "",
        partner=partner if role == "partner" else None,
        community=_claim(claims, "community"),
        tags=tuple(raw_tags[:20]),
        communities=tuple(communities[:MAX_COMMUNITIES]) if role == "worker" else (),
    )


def _string_list(claims: dict[str, Any], key: str) -> list[str]:
    value = claims.get(key) or []
    if not isinstance(value, list) or not all(
        isinstance(item, str) and 0 < len(item) <= MAX_CLAIM_LENGTH and _printable(item)
        for item in value
    ):
        raise Unauthenticated(
            f"The token's {key!r} claim must be a list of strings.",
            errors=[FieldError(key, "must be a list of printable strings")],
        )
    return value
