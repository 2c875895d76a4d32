"""The catalogues: every message of the console has a Chinese translation, and the template
of messages matches the code (re-run the extractor after changing a template)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from scheduler.console.i18n import LOCALE_DIR, translations


def _catalogue(path: Path, locale: str | None = None) -> dict[str, str]:
    with path.open("rb") as source:
        return {str(m.id): str(m.string) for m in read_po(source, locale=locale) if m.id}


def test_every_message_is_translated_to_chinese() -> None:
    template = _catalogue(LOCALE_DIR / "messages.pot")
    chinese = _catalogue(LOCALE_DIR / "zh_Hans/LC_MESSAGES/messages.po", "zh_Hans")
    assert set(template) <= set(chinese), set(template) - set(chinese)
    assert [key for key, text in chinese.items() if not text] == []


def test_catalogues_compile_on_load() -> None:
    assert translations("zh_Hans").gettext("Approvals") == "审批"
    assert translations("en").gettext("Approvals") == "Approvals"
    assert translations("en").gettext("zone:campus") == "Campus"
