"""Rendering console pages: the template engine, the shared context, error pages.

Field errors come from the same ``ValidationFailed`` the API raises; the message shown next to
a field is the catalogue's translation of the service's English message when there is one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from scheduler.console.auth import SignInRequired, session_principal
from scheduler.console.i18n import LANGUAGES, Formatter, pick_language, translations
from scheduler.errors import SchedulerError

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_PATH = "/console/static"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def language_of(request: Request[Any, Any, Any]) -> str:
    session = request.scope.get("session")
    chosen = session.get("lang") if isinstance(session, dict) else None
    return pick_language(chosen or request.cookies.get("console_lang"))


def field_errors(error: SchedulerError, language: str) -> dict[str, str]:
    """``{field: message}`` of a validation refusal, translated where the catalogue can."""
    gettext = translations(language).gettext
    found: dict[str, str] = {}
    for item in error.extensions.get("errors", []) or []:
        found.setdefault(str(item["field"]), gettext(str(item["message"])))
    return found


def problem_text(error: SchedulerError, language: str) -> str:
    """The refusal in the user's language: its code's title, then the service's detail."""
    gettext = translations(language).gettext
    title = gettext(error.title)
    return f"{title} ({error.code}): {gettext(error.detail)}"


# Form addresses whose answer is a page served (by GET) at another address.
ANSWERED_AT = (
    (re.compile(r"^/console/calendar/(import|correct|revert)$"), "/console/calendar"),
    (re.compile(r"^/console/gate/[^/]+/check-in$"), "/console/gate"),
)


def page_path(request: Request[Any, Any, Any]) -> str:
    """The page the user is on (for the answer to a form post, the page that holds the form),
    so the language switch and the navigation come back to a page, not to a form's address."""
    path = request.url.path
    for pattern, target in ANSWERED_AT:
        if pattern.match(path):
            return target
    return path


def page(
    request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
) -> Template:
    """Render ``template`` with what every page needs: translations, formats, the user."""
    language = language_of(request)
    settings = request.app.state.settings
    catalogue = translations(language)
    return Template(
        template_name=template,
        status_code=status_code,
        context={
            "_": catalogue.gettext,
            "ngettext": catalogue.ngettext,
            "lang": language,
            "languages": LANGUAGES,
            "fmt": Formatter(language, settings.default_timezone),
            "viewer": session_principal(request),
            "demo": settings.demo,
            "static": STATIC_PATH,
            "path": page_path(request),
            "flash": context.pop("flash", None),
            **context,
        },
    )


def handle_console_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Console errors are pages, not problem documents: sign-in redirects, 403/404 pages."""
    if isinstance(error, SignInRequired):
        return Redirect(f"/console/sign-in?next={request.url.path}")
    if isinstance(error, PermissionDeniedException):  # the CSRF check
        gettext = translations(language_of(request)).gettext
        message = gettext(
            "This form has expired or did not come from the console. Reload the page and try again."
        )
        return page(request, "error.html", status_code=403, message=message)
    assert isinstance(error, SchedulerError)
    return page(
        request,
        "error.html",
        status_code=error.status,
        message=problem_text(error, language_of(request)),
    )
