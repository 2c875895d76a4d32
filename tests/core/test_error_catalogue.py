"""Every problem code is declared once, raised somewhere, and documented in docs/errors.md.

Declared: a refusal kind in ``core.refusals`` or a ``SchedulerError`` subclass. Raised: the
kind's constant or the class is used somewhere in ``scheduler/`` outside its declaration
(read from the source, so a code nobody can get fails here). Documented: a ``## code``
section in docs/errors.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import scheduler.app  # noqa: F401  (imports every module, so every error class exists)
from scheduler import errors
from scheduler.core import refusals

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scheduler"
DOCS = ROOT / "docs" / "errors.md"


def _error_classes() -> dict[str, type[errors.SchedulerError]]:
    found: dict[str, type[errors.SchedulerError]] = {}
    pending = list(errors.SchedulerError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "code" in vars(cls):
            found[cls.__name__] = cls
    return found


def _names_used(skip: Path) -> set[str]:
    """Every name and attribute read anywhere in the package except in ``skip``."""
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path == skip:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
    return used


def _kind_constants() -> dict[str, str]:
    return {
        name: value.code
        for name, value in vars(refusals).items()
        if isinstance(value, refusals.RefusalKind)
    }


def documented() -> set[str]:
    return set(re.findall(r"^## ([a-z_]+)\s*$", DOCS.read_text(), flags=re.MULTILINE))


def declared() -> set[str]:
    codes = {cls.code for cls in _error_classes().values()}
    return codes | set(refusals.KINDS)


def test_every_declared_code_is_documented_and_every_documented_code_declared() -> None:
    assert sorted(declared() - documented()) == [], "declared but not in docs/errors.md"
    assert sorted(documented() - declared()) == [], "in docs/errors.md but declared nowhere"


def test_every_refusal_kind_is_registered_and_raised() -> None:
    constants = _kind_constants()
    assert sorted(constants.values()) == sorted(refusals.KINDS), "a kind missing from KINDS"
    used = _names_used(skip=PACKAGE / "core" / "refusals.py")
    assert sorted(name for name in constants if name not in used) == [], "never raised"


def test_every_error_class_is_raised_somewhere() -> None:
    used = _names_used(skip=PACKAGE / "errors.py")
    unused = sorted(name for name in _error_classes() if name not in used)
    assert unused == [], "error classes nothing raises"


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in _error_classes().values()] + list(refusals.KINDS)
    assert len(codes) == len(set(codes)), codes
