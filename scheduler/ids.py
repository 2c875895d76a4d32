"""Identifiers: short, URL-safe, roughly time-ordered strings with a readable prefix."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"


def _base32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``prefix_`` + 9 characters of milliseconds + 10 random characters."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 9)}{_base32(secrets.randbits(50), 10)}"
