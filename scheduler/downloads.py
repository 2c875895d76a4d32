"""Answering a report or a list as JSON, or as a CSV download when the client asks for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from litestar import Request, Response
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema

T = TypeVar("T")
JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"


@dataclass
class AlsoCsv(Operation):
    """Documents the CSV form of the 200 response next to the JSON one."""

    def __post_init__(self) -> None:
        success = (self.responses or {}).get("200")
        if isinstance(success, OpenAPIResponse) and success.content is not None:
            success.content["text/csv"] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING, description="The same rows as CSV, with a header row"
                )
            )


def json_or_csv(
    request: Request[Any, Any, Any], report: T, as_text: Callable[[], str], filename: str
) -> Response[T]:
    """The report as JSON, or as a CSV download when the client asks for ``text/csv``."""
    wanted = request.accept.best_match([JSON_MEDIA_TYPE, CSV_MEDIA_TYPE], default=JSON_MEDIA_TYPE)
    if wanted != CSV_MEDIA_TYPE:
        return Response(report)
    csv_response = Response(
        as_text(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return cast("Response[T]", csv_response)
