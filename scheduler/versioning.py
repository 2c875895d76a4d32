"""Optimistic concurrency: versions exposed as strong ETags, checked against ``If-Match``."""

from __future__ import annotations

from scheduler.errors import PreconditionFailed, ValidationFailed


def etag(version: int) -> str:
    return f'"{version}"'


def check_version(current: int, if_match: str | None) -> None:
    """Refuse a write whose ``If-Match`` names another version (412); absent means no check."""
    if if_match is None or if_match.strip() == "*":
        return
    accepted: set[int] = set()
    for candidate in if_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise ValidationFailed.one("If-Match", 'must be an ETag such as "3"')
        accepted.add(int(tag))
    if current not in accepted:
        raise PreconditionFailed(
            f"The item is at version {current}; re-read it and apply your change again.",
            current_version=current,
        )
