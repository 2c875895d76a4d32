"""core.refusals: the registry of refusal kinds and the Refusal value itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from scheduler.core import refusals as kinds
from scheduler.core.refusals import (
    FAMILIES,
    KINDS,
    Alternative,
    CapacityFacts,
    FullSlot,
    QuotaFacts,
    Refusal,
    RefusalKind,
    ShapeFacts,
    TimingFacts,
)

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OPTION = Alternative(AT, AT + timedelta(hours=1))


def test_each_kind_has_the_status_its_family_implies() -> None:
    """422 for the request's shape, 403 for the person, 409 for everything about the time."""
    status_of_family = {
        kinds.ShapeFacts: 422,
        kinds.PersonFacts: 403,
        kinds.TimingFacts: 409,
        kinds.WindowFacts: 409,
        kinds.CapacityFacts: 409,
        kinds.QuotaFacts: 409,
    }
    assert set(status_of_family) == set(FAMILIES)
    wrong = {
        kind.code: kind.status
        for kind in KINDS.values()
        if kind.status != status_of_family[kind.family]
    }
    assert wrong == {}


def test_the_kinds_that_suggest_times_are_those_about_the_time() -> None:
    suggesting = sorted(code for code, kind in KINDS.items() if kind.alternatives)
    assert suggesting == [
        "capacity",
        "closed",
        "horizon",
        "lead_time",
        "not_released",
        "outside_window",
    ]


@pytest.mark.parametrize(
    "kind", [k for k in KINDS.values() if k.alternatives], ids=lambda k: k.code
)
def test_a_kind_that_suggests_times_has_facts_that_can_carry_them(kind: RefusalKind) -> None:
    assert "alternatives" in kind.family.__struct_fields__


def test_the_registry_is_keyed_by_code() -> None:
    assert all(code == kind.code for code, kind in KINDS.items())
    assert all(kind.title and kind.title[0].isupper() for kind in KINDS.values())


def test_a_refusal_carries_only_its_kinds_family_of_facts() -> None:
    with pytest.raises(TypeError, match="quota_exceeded carries QuotaFacts"):
        Refusal(kinds.QUOTA_EXCEEDED, "Too many.", CapacityFacts(rule="capacity"))
    refusal = Refusal(kinds.QUOTA_EXCEEDED, "Too many.", QuotaFacts(rule="q", limit=2, current=2))
    assert (refusal.code, refusal.status, refusal.detail, str(refusal)) == (
        "quota_exceeded",
        409,
        "Too many.",
        "Too many.",
    )


def test_fact_values_leave_out_empty_facts_and_keep_instants() -> None:
    refusal = Refusal(
        kinds.CAPACITY,
        "Not enough places left.",
        CapacityFacts(rule="capacity", requested=2, full_slots=[FullSlot(AT)]),
    )
    assert refusal.fact_values() == {
        "rule": "capacity",
        "requested": 2,
        "full_slots": [{"starts_at": AT}],
    }
    assert Refusal(kinds.INVALID_UNIT, "No.", ShapeFacts()).fact_values() == {}


def test_with_alternatives_copies_the_refusal_with_them() -> None:
    facts = TimingFacts(rule="policy.horizon_days", limit=14)
    refusal = Refusal(kinds.HORIZON, "Too far.", facts)
    suggested = refusal.with_alternatives([OPTION])
    assert suggested is not refusal and suggested.kind is kinds.HORIZON
    assert suggested.fact_values() == {
        "rule": "policy.horizon_days",
        "limit": 14,
        "alternatives": [{"starts_at": OPTION.starts_at, "ends_at": OPTION.ends_at}],
    }
    assert refusal.facts == facts and facts.alternatives is None


def test_with_alternatives_keeps_the_refusal_without_options_or_for_other_kinds() -> None:
    refusal = Refusal(kinds.HORIZON, "Too far.", TimingFacts(rule="policy.horizon_days"))
    assert refusal.with_alternatives([]) is refusal
    deadline = Refusal(kinds.CANCEL_DEADLINE, "Too late.", TimingFacts(rule="x"))
    assert deadline.with_alternatives([OPTION]) is deadline


def test_facts_encode_as_the_problem_members_clients_read() -> None:
    facts = CapacityFacts(
        rule="capacity", full_slots=[FullSlot(AT, AT + timedelta(hours=1), 0)], alternatives=[]
    )
    assert msgspec.json.decode(msgspec.json.encode(facts)) == {
        "rule": "capacity",
        "full_slots": [
            {"starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T11:00:00Z", "available": 0}
        ],
        "alternatives": [],
    }
