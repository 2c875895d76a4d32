"""Optimistic concurrency: versions exposed as strong ETags, checked against ``If-Match``."""

from __future__ import annotations

from scheduler.errors import PreconditionFailed, ValidationFailed


def etag(version: int) -> str:
    return f'"{version}"'


# Versions are counters: 18 digits are more than any item will reach, and ``int()`` of a
# longer string is refused by Python itself (more than 4,300 digits) or merely wasteful.
MAX_TAG_DIGITS = 18
MAX_TAGS = 20


def check_version(current: int, if_match: str | None) -> None:
    """Refuse a write whose ``If-Match`` names another version (412); absent means no check.
    A malformed header (not ASCII digits, too long, too many tags) is 422 naming If-Match."""
    if if_match is None or if_match.strip() == "*":
        return
    candidates = if_match.split(",")
    if len(candidates) > MAX_TAGS:
        raise ValidationFailed.one("If-Match", f"at most {MAX_TAGS} ETags")
    accepted: set[int] = set()
    for candidate in candidates:
        tag = candidate.strip().removeprefix("W/").strip('"')
        # str.isdigit() is true for "²" and other non-ASCII digits int() cannot read.
        if not (tag.isascii() and tag.isdigit() and len(tag) <= MAX_TAG_DIGITS):
            raise ValidationFailed.one("If-Match", 'must be an ETag such as "3"')
        accepted.add(int(tag))
    if current not in accepted:
        raise PreconditionFailed(
            f"The item is at version {current}; re-read it and apply your change again.",
            current_version=current,
        )
