"""Booking fields: what a resource asks of each booking (a plate, a meal, a purpose), the
consistency of those declarations, the check of a booking's values and who may read them.

A resource declares a list of ``FieldSpec``; a booking carries ``{name: value}``. Values are
checked here and normalised (plates in capitals without spaces); a problem is a
``(field, message)`` pair naming ``fields.<name>`` (or ``booking_fields[i].<member>`` for a
declaration), which the shell turns into a 422. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import msgspec

FieldType = Literal["text", "integer", "choice", "boolean", "phone", "plate"]
# Who, besides the holder (and whoever made the booking), may read a field's value. Admin
# reads everything; a field seen by nobody else is still kept for the holder.
Audience = Literal["staff", "partner", "worker"]
AUDIENCES: tuple[Audience, ...] = ("staff", "partner", "worker")

MAX_FIELDS = 20
MAX_CHOICES = 50
DEFAULT_TEXT_LENGTH = 200
MAX_TEXT_LENGTH = 2000
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"

FieldName = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN, description="snake_case")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
ChoiceValue = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=ONE_LINE)]
FieldValue = str | int | bool

# A mainland plate: province character, the issuing letter, then 5 letters/digits (6 for a
# new-energy vehicle), optionally ending in a special-use character (学, 警, 挂…).
PLATE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
    r"[A-Z][A-HJ-NP-Z0-9]{4,6}[挂学警港澳领使试超]?$"
)
PHONE = re.compile(r"^\+?[0-9]{3,20}$")


class FieldSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """One field a resource's bookings carry."""

    name: FieldName
    type: FieldType = "text"
    label_zh: Label | None = None
    label_en: Label | None = None
    required: bool = False
    # ``choice`` only: the allowed values, in display order.
    choices: list[ChoiceValue] | None = None
    # ``text`` only: the longest value accepted (default 200).
    max_length: int | None = None
    # ``integer`` only: the bounds, inclusive.
    minimum: int | None = None
    maximum: int | None = None
    visible_to: list[Audience] = msgspec.field(default_factory=lambda: list(AUDIENCES))

    @property
    def personal(self) -> bool:
        """Hidden from some role that may see the booking itself."""
        return set(self.visible_to) != set(AUDIENCES)


def declaration_problems(specs: Sequence[FieldSpec]) -> list[tuple[str, str]]:
    """Everything wrong with a list of declarations (empty when it is consistent)."""
    found: list[tuple[str, str]] = []
    if len(specs) > MAX_FIELDS:
        found.append(("booking_fields", f"at most {MAX_FIELDS} fields"))
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        at = f"booking_fields[{index}]"
        if spec.name in seen:
            found.append((f"{at}.name", f"{spec.name!r} is declared twice"))
        seen.add(spec.name)
        found.extend((f"{at}.{member}", message) for member, message in _spec_problems(spec))
    return found


def _spec_problems(spec: FieldSpec) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if spec.type == "choice":
        if not spec.choices:
            found.append(("choices", "a choice field needs at least one choice"))
        elif len(spec.choices) > MAX_CHOICES:
            found.append(("choices", f"at most {MAX_CHOICES} choices"))
        elif len(set(spec.choices)) != len(spec.choices):
            found.append(("choices", "choices must be distinct"))
    elif spec.choices is not None:
        found.append(("choices", "only a choice field has choices"))
    if spec.max_length is not None:
        if spec.type != "text":
            found.append(("max_length", "only a text field has max_length"))
        elif not 1 <= spec.max_length <= MAX_TEXT_LENGTH:
            found.append(("max_length", f"must be between 1 and {MAX_TEXT_LENGTH}"))
    if spec.type != "integer":
        for member in ("minimum", "maximum"):
            if getattr(spec, member) is not None:
                found.append((member, f"only an integer field has {member}"))
    elif spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        found.append(("maximum", "must not be less than minimum"))
    if len(set(spec.visible_to)) != len(spec.visible_to):
        found.append(("visible_to", "roles must be distinct"))
    return found


def check_values(
    specs: Sequence[FieldSpec], values: Mapping[str, FieldValue]
) -> tuple[dict[str, FieldValue], list[tuple[str, str]]]:
    """The values normalised, and every problem with them (unknown, missing, malformed)."""
    declared = {spec.name: spec for spec in specs}
    clean: dict[str, FieldValue] = {}
    found: list[tuple[str, str]] = []
    for name in values:
        if name not in declared:
            known = ", ".join(declared) or "none"
            found.append((f"fields.{name}", f"not a field of this resource (declared: {known})"))
    for spec in specs:
        value = values.get(spec.name)
        result = None if value is None else _value(spec, value)
        if isinstance(result, _Problem):
            found.append((f"fields.{spec.name}", result.message))
        elif result is None or result == "":
            # Blank text counts as absent, so a required field cannot be met with spaces.
            if spec.required:
                found.append((f"fields.{spec.name}", "required"))
        else:
            clean[spec.name] = result
    return clean, found


class _Problem(msgspec.Struct):
    message: str


def _value(spec: FieldSpec, value: FieldValue) -> FieldValue | _Problem:
    if spec.type == "boolean":
        return value if isinstance(value, bool) else _Problem("must be true or false")
    if spec.type == "integer":
        return _integer(spec, value)
    if not isinstance(value, str):
        return _Problem("must be a string")
    if not re.match(ONE_LINE, value):
        return _Problem("must be one line of text")
    if not value.strip():
        return ""
    if spec.type == "choice":
        allowed = spec.choices or []
        return value if value in allowed else _Problem(f"must be one of {', '.join(allowed)}")
    if spec.type == "plate":
        plate = re.sub(r"[\s·.-]", "", value).upper()
        return plate if PLATE.match(plate) else _Problem("not a vehicle plate (e.g. 沪A12345)")
    if spec.type == "phone":
        phone = re.sub(r"[\s()-]", "", value)
        return phone if PHONE.match(phone) else _Problem("not a phone number")
    longest = spec.max_length or DEFAULT_TEXT_LENGTH
    text = value.strip()
    return text if len(text) <= longest else _Problem(f"at most {longest} characters")


def _integer(spec: FieldSpec, value: FieldValue) -> FieldValue | _Problem:
    if isinstance(value, bool) or not isinstance(value, int):
        return _Problem("must be a whole number")
    if spec.minimum is not None and value < spec.minimum:
        return _Problem(f"must be at least {spec.minimum}")
    if spec.maximum is not None and value > spec.maximum:
        return _Problem(f"must be at most {spec.maximum}")
    return value


def visible_values(
    specs: Sequence[FieldSpec],
    values: Mapping[str, FieldValue],
    role: str,
    sees_everything: bool,
) -> dict[str, FieldValue]:
    """The values ``role`` may read. ``sees_everything`` is the holder, the person who made
    the booking and admin; a value whose field is no longer declared is theirs and staff's."""
    if sees_everything:
        return dict(values)
    audience = {spec.name: set(spec.visible_to) for spec in specs}
    return {name: value for name, value in values.items() if role in audience.get(name, {"staff"})}


def columns(specs: Sequence[FieldSpec], role: str) -> list[FieldSpec]:
    """The declared fields ``role`` may read, in declaration order (list and CSV columns)."""
    return [spec for spec in specs if role == "admin" or role in spec.visible_to]


def choice_totals(
    specs: Sequence[FieldSpec], rows: Sequence[tuple[Mapping[str, FieldValue], int]]
) -> dict[str, dict[str, int]]:
    """Places per value of each choice field, in choice order (what a kitchen cooks):
    ``rows`` are (values, quantity) pairs."""
    totals: dict[str, dict[str, int]] = {}
    for spec in specs:
        if spec.type != "choice":
            continue
        counts = dict.fromkeys(spec.choices or [], 0)
        for values, quantity in rows:
            value = values.get(spec.name)
            if isinstance(value, str) and value in counts:
                counts[value] += quantity
        totals[spec.name] = counts
    return totals
