"""Reading HTML forms into the API's own request Structs, so the console validates input
exactly as the API does (the same msgspec constraints, then the same service checks)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar.datastructures import FormMultiDict

from scheduler.console.rendering import field_errors, problem_text
from scheduler.errors import FieldError, SchedulerError, ValidationFailed
from scheduler.versioning import etag

T = TypeVar("T")
_PATH = re.compile(r"at `\$\.(\w+)")


def blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def convert(fields: dict[str, Any], into: type[T]) -> T:
    """``fields`` (strings from a form) as ``into``; a mismatch is ``ValidationFailed`` naming
    the field, like the API's 422."""
    try:
        return msgspec.convert(fields, into, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _PATH.search(message)
        field = found.group(1) if found else "form"
        raise ValidationFailed([FieldError(field, message.split(" - at ")[0])]) from exc


def form_errors(error: SchedulerError, language: str) -> dict[str, str]:
    """A refusal as errors next to the fields it names, else one message over the form."""
    return field_errors(error, language) or {"form": problem_text(error, language)}


def if_match(form: FormMultiDict) -> str | None:
    """The ETag of the version the form was read at (its ``version`` field), if any."""
    version = str(form.get("version") or "")
    return etag(int(version)) if version.isdigit() and len(version) < 18 else None
