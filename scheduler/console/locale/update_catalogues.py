"""Re-extract the console's messages and merge them into each language's ``.po`` file.

Run from the repository root after changing a template or a message:
``python -m scheduler.console.locale.update_catalogues``; then translate the empty entries in
``zh_Hans/LC_MESSAGES/messages.po`` (tests/console/test_catalogues.py fails until you do).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def main() -> None:
    template = HERE / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-o",
            str(template),
            "--no-location",
            "--omit-header",
            ".",
        ],
        check=True,
        cwd=ROOT,
    )
    with template.open("rb") as source:
        pot = read_po(source)
    for language in ("zh_Hans", "en"):
        path = HERE / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as source:
                catalogue = read_po(source, locale=language)
            catalogue.update(pot, no_fuzzy_matching=True)
        else:
            catalogue = pot
            catalogue.locale = language
        with path.open("wb") as target:
            write_po(target, catalogue, omit_header=True, no_location=True, width=100)


if __name__ == "__main__":
    main()
