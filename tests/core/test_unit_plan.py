"""core.unit_plan: one unit throughout when one is free, else refusal or fewest changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scheduler.core.unit_plan import plan_units

UNITS = ["A", "B", "C"]


def nights(count: int, **taken: set[str]) -> list[set[str]]:
    held = [set() for _ in range(count)]
    for night, units in taken.items():
        held[int(night[1:])] = units
    return held


def test_a_unit_free_throughout_is_kept_even_over_the_preferred_one():
    plan = plan_units(UNITS, nights(31, n4={"A"}, n9={"B"}), "A", "same")
    assert (set(plan.units), plan.free_throughout, plan.changes) == ({"C"}, ("C",), 0)


def test_the_preferred_unit_wins_when_free_throughout():
    assert set(plan_units(UNITS, nights(5), "B", "same").units) == {"B"}


def test_same_keeps_the_unit_free_most_often():
    plan = plan_units(["A", "B"], nights(6, n0={"B"}, n1={"B"}, n2={"A"}), None, "same")
    assert set(plan.units) == {"A"} and plan.free_throughout == ()


def test_fewest_changes_switches_once():
    plan = plan_units(["A", "B"], nights(31, n4={"A"}, n9={"B"}), None, "fewest_changes")
    assert plan.units == ("B",) * 5 + ("A",) * 26 and plan.changes == 1


def test_an_occurrence_with_no_free_unit_gets_none():
    plan = plan_units(["A", "B"], nights(3, n1={"A", "B"}), None, "fewest_changes")
    assert (plan.units, plan.changes) == (("A", None, "A"), 0)
    plan = plan_units(
        ["A", "B"], nights(3, n0={"B"}, n1={"A", "B"}, n2={"A"}), None, "fewest_changes"
    )
    assert plan.units == ("A", None, "B") and plan.changes == 1


def test_exact_asks_for_the_preferred_unit_everywhere():
    plan = plan_units(UNITS, nights(3, n1={"B"}), "B", "fewest_changes", exact=True)
    assert plan.units == ("B", "B", "B")


@given(st.lists(st.sets(st.sampled_from(UNITS)), min_size=1, max_size=20))
def test_fewest_changes_only_assigns_free_units_and_is_no_worse_than_greedy(taken):
    plan = plan_units(UNITS, taken, None, "fewest_changes")
    for unit, held in zip(plan.units, taken, strict=True):
        assert (unit is None) == (held >= set(UNITS))
        assert unit is None or unit not in held
    # Greedy: keep the current unit while free, else take the first free one.
    greedy, current = 0, None
    for held in taken:
        free = [u for u in UNITS if u not in held]
        if not free:
            continue
        if current not in free:
            greedy += current is not None
            current = free[0]
    assert plan.changes <= greedy
