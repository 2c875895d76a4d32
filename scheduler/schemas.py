"""Building blocks shared by every feature's schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from litestar.params import HeaderParameter, QueryParameter

from scheduler.core.limits import date_problem
from scheduler.core.refusals import FAMILIES, KINDS, RefusalFacts
from scheduler.ids import SLUG_PATTERN

T = TypeVar("T")

# One line of text: no control characters (a newline in a name would break calendar feeds
# and log lines), so names and labels are refused with 422 when they contain one.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE)]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=SLUG_PATTERN,
        description="Lowercase letters, digits, '-' and '_', 2-63 characters",
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Items to skip")]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="ETag of the version you read; 412 if stale"),
]


class Page(msgspec.Struct, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: unknown fields are refused, so typos never pass silently.
    Every date and instant must lie in the accepted range (``core.limits``)."""

    def __post_init__(self) -> None:
        for name, wire_name in zip(
            self.__struct_fields__, self.__struct_encode_fields__, strict=True
        ):
            value = getattr(self, name)
            problem = date_problem(value) if isinstance(value, date) else None
            if problem:
                # msgspec's own message form, so the 422 names the field like any other.
                raise ValueError(f"{problem} - at `$.{wire_name}`")


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem document as this service sends it."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class TransitionProblem(Problem, kw_only=True):
    """``invalid_transition``: the booking's state does not allow the change."""

    code: Literal["invalid_transition"]
    current_status: str | None = None
    allowed_from: list[str] | None = None


def _refusal_problem(family: type[RefusalFacts]) -> type[Problem]:
    """The problem schema of one refusal family: every code of the family, and its facts."""
    codes = tuple(kind.code for kind in KINDS.values() if kind.family is family)
    facts = [(f.name, f.type, f.default) for f in msgspec.structs.fields(family)]
    struct = msgspec.defstruct(
        family.__name__.removesuffix("Facts") + "Refusal",
        [("code", Literal[codes]), *facts],
        bases=(Problem,),
        kw_only=True,
        module=__name__,
    )
    assert issubclass(struct, Problem)
    struct.__doc__ = f"A booking refused by a rule ({', '.join(codes)}). {family.__doc__}"
    return struct


REFUSAL_PROBLEMS: dict[type[RefusalFacts], type[Problem]] = {
    family: _refusal_problem(family) for family in FAMILIES
}


def convert_input(data: object, target: type[T], field_prefix: str) -> T:
    """Convert untyped input into ``target``, turning msgspec errors into a 422 naming the field."""
    from scheduler.errors import ValidationFailed

    try:
        return msgspec.convert(data, target)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        field = field_prefix + path.rstrip("`") if path else field_prefix
        raise ValidationFailed.one(field, message) from exc


Instant = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="ISO 8601 with an offset, e.g. 2026-10-01T18:00:00+08:00"),
]
