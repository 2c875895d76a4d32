"""The API reference at /schema, rendered from Swagger UI files shipped in the package.

Litestar's render plugins load their scripts from public CDNs, which a government intranet
cannot reach; this one points at the vendored copy under ``static/vendor/swagger-ui`` (with
its licence) and starts it from a static script, so the page needs no inline script either.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin

from scheduler.console.rendering import STATIC_PATH

VENDOR = f"{STATIC_PATH}/vendor/swagger-ui"


class OfflineSwaggerPlugin(SwaggerRenderPlugin):
    def __init__(self, path: str) -> None:
        super().__init__(
            js_url=f"{VENDOR}/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui-standalone-preset.js",
            path=path,
            favicon=f"<link rel='icon' type='image/png' href='{VENDOR}/favicon-32x32.png'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema["info"]["title"])
        spec_url = self.get_openapi_json_route(request)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  {self.favicon}
  <link rel="stylesheet" href="{self.css_url}">
</head>
<body>
  <div id="swagger-container" data-spec-url="{spec_url}"></div>
  <script src="{self.js_url}"></script>
  <script src="{self.standalone_preset_js_url}"></script>
  <script src="{STATIC_PATH}/docs/swagger-init.js"></script>
</body>
</html>""".encode()


def docs_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at /schema (the default page) and at /schema/swagger."""
    return [OfflineSwaggerPlugin(path="/swagger")]
