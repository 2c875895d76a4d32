"""Booking fields: declarations, the check of values and who reads them (pure, no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.booking_fields import (
    FieldSpec,
    check_values,
    choice_totals,
    columns,
    declaration_problems,
    visible_values,
)

PLATE = FieldSpec(name="plate", type="plate", required=True, visible_to=["staff", "partner"])
MEAL = FieldSpec(name="meal", type="choice", choices=["standard", "soft"])
SEATS = FieldSpec(name="attendees", type="integer", minimum=1, maximum=40)
PHONE = FieldSpec(name="contact_phone", type="phone", visible_to=["staff"])
SPECS = [PLATE, MEAL, SEATS, PHONE]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("沪A12345", "沪A12345"),
        ("沪a 12345", "沪A12345"),
        ("沪A·D2468", "沪AD2468"),
        ("沪AD12345", "沪AD12345"),  # new-energy plates have six characters
        ("沪A1234学", "沪A1234学"),
        ("粤B-12345", "粤B12345"),
    ],
)
def test_plates_are_normalised(value: str, expected: str) -> None:
    assert check_values([PLATE], {"plate": value}) == ({"plate": expected}, [])


@pytest.mark.parametrize(
    "value", ["12345", "AA12345", "沪A123", "沪A1234", "沪AO1234", "沪A1234567", "沪"]
)
def test_not_plates(value: str) -> None:
    _, problems = check_values([PLATE], {"plate": value})
    assert problems == [("fields.plate", "not a vehicle plate (e.g. 沪A12345)")]


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({}, [("fields.plate", "required")]),
        ({"plate": "  "}, [("fields.plate", "required")]),
        (
            {"plate": "沪A12345", "meal": "large"},
            [("fields.meal", "must be one of standard, soft")],
        ),
        ({"plate": "沪A12345", "attendees": 41}, [("fields.attendees", "must be at most 40")]),
        ({"plate": "沪A12345", "attendees": 1.5}, [("fields.attendees", "must be a whole number")]),
        ({"plate": "沪A12345", "contact_phone": "+86 138"}, []),
        (
            {"plate": "沪A12345", "colour": "red"},
            [
                (
                    "fields.colour",
                    "not a field of this resource (declared: plate, meal, attendees, "
                    "contact_phone)",
                )
            ],
        ),
        ({"plate": "沪A12345", "meal": "soft\n"}, [("fields.meal", "must be one line of text")]),
    ],
)
def test_values_are_checked(values: dict, problems: list) -> None:
    assert check_values(SPECS, values)[1] == problems


def test_declaration_problems() -> None:
    assert declaration_problems(SPECS) == []
    assert declaration_problems([MEAL, MEAL]) == [
        ("booking_fields[1].name", "'meal' is declared twice")
    ]
    assert declaration_problems([FieldSpec(name="x", type="choice")]) == [
        ("booking_fields[0].choices", "a choice field needs at least one choice")
    ]
    assert declaration_problems([FieldSpec(name="x", max_length=0)]) == [
        ("booking_fields[0].max_length", "must be between 1 and 2000")
    ]
    too_many = [FieldSpec(name=f"f{n}") for n in range(21)]
    assert declaration_problems(too_many) == [("booking_fields", "at most 20 fields")]


def test_visibility_by_role() -> None:
    values = {"plate": "沪A12345", "meal": "soft", "contact_phone": "138", "gone": "old"}
    assert visible_values(SPECS, values, "partner", sees_everything=False) == {
        "plate": "沪A12345",
        "meal": "soft",
    }
    assert visible_values(SPECS, values, "worker", sees_everything=False) == {"meal": "soft"}
    # staff read a value whose field is no longer declared; the holder reads everything
    assert visible_values(SPECS, values, "staff", sees_everything=False) == values
    assert visible_values(SPECS, values, "resident", sees_everything=True) == values
    assert visible_values(SPECS, values, "resident", sees_everything=False) == {}
    assert [spec.name for spec in columns(SPECS, "worker")] == ["meal", "attendees"]
    assert [spec.name for spec in columns(SPECS, "admin")] == [s.name for s in SPECS]


def test_choice_totals_count_places_in_choice_order() -> None:
    rows = [({"meal": "soft"}, 2), ({"meal": "standard"}, 1), ({}, 3), ({"meal": "soft"}, 1)]
    assert choice_totals(SPECS, rows) == {"meal": {"standard": 1, "soft": 3}}


values_strategy = st.dictionaries(
    st.sampled_from(["plate", "meal", "attendees", "contact_phone", "other"]),
    st.one_of(st.text(max_size=12), st.integers(), st.booleans()),
    max_size=5,
)


@settings(max_examples=200, deadline=None)  # no timing: the machine is shared
@given(values_strategy)
def test_check_is_total_and_idempotent(values: dict) -> None:
    """Any input gives values or named problems (never an exception); values that pass
    are already normal, so checking them again changes nothing."""
    clean, problems = check_values(SPECS, values)
    assert set(clean) <= {spec.name for spec in SPECS}
    assert all(field.startswith("fields.") for field, _ in problems)
    if not problems:
        assert check_values(SPECS, clean) == (clean, [])
