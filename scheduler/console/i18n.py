"""Message catalogues of the console: Simplified Chinese by default, English as a switch.

The catalogues are the ``.po`` files under ``locale/``; they are compiled with Babel when the
service starts (no compiled ``.mo`` files to keep in step), so a fresh install works as is.
Dates and times are formatted with Babel in the resource's time zone and the user's locale.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"zh_Hans": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_Hans"
BABEL_LOCALES = {"zh_Hans": "zh_Hans_CN", "en": "en_GB"}


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English falls back to the message ids)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def pick_language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


class Formatter:
    """Dates, times and instants for one language, in a given time zone."""

    def __init__(self, language: str, default_timezone: str) -> None:
        self.locale = Locale.parse(BABEL_LOCALES[language])
        self.zone = ZoneInfo(default_timezone)

    def _local(self, instant: datetime, timezone: str | None) -> datetime:
        return instant.astimezone(ZoneInfo(timezone) if timezone else self.zone)

    def instant(self, instant: datetime | None, timezone: str | None = None) -> str:
        if instant is None:
            return ""
        return format_datetime(self._local(instant, timezone), "medium", locale=self.locale)

    def clock(self, instant: datetime | None, timezone: str | None = None) -> str:
        if instant is None:
            return ""
        return format_time(self._local(instant, timezone), "HH:mm", locale=self.locale)

    def day(self, value: date | datetime | None, timezone: str | None = None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = self._local(value, timezone).date()
        return format_date(value, "full", locale=self.locale)
