"""The lottery is uniform, seeded and replayable; nobody wins twice for one slot."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.lottery import Entry, draw_order, new_seed, select_winners

SLOT = datetime(2026, 12, 8, 10, tzinfo=UTC)


def entries(count: int, quantity: int = 1) -> list[Entry]:
    return [Entry(f"bkg_{i:03d}", f"resident-{i}", quantity, (SLOT,)) for i in range(count)]


def test_thirty_entries_for_five_places_give_five_winners_and_replay():
    pool = entries(30)
    seed = new_seed()
    winners = select_winners(pool, seed, {SLOT: 5})
    assert len(winners) == 5 == len(set(winners))
    assert select_winners(list(reversed(pool)), seed, {SLOT: 5}) == winners


def test_no_resident_wins_twice_for_one_slot():
    pool = [Entry(f"bkg_{i}", "the-same-person", 1, (SLOT,)) for i in range(3)] + entries(2)
    winners = select_winners(pool, "seed", {SLOT: 5})
    holders = Counter(next(e.holder for e in pool if e.id == w) for w in winners)
    assert holders["the-same-person"] == 1 and len(winners) == 3


def test_party_sizes_count_against_capacity():
    pool = entries(10, quantity=3)
    assert len(select_winners(pool, "s", {SLOT: 10})) == 3


def test_multi_slot_entries_need_room_in_every_slot():
    later = SLOT + timedelta(hours=1)
    pool = [Entry("a", "x", 1, (SLOT, later)), Entry("b", "y", 1, (later,))]
    assert select_winners(pool, "s", {SLOT: 1, later: 0}) == []


def test_the_draw_is_uniform_enough():
    """Over 3,000 seeds every one of 6 entries wins a single place about 1/6 of the time."""
    pool = entries(6)
    wins = Counter(select_winners(pool, f"seed-{n}", {SLOT: 1})[0] for n in range(3000))
    assert set(wins) == {e.id for e in pool}
    assert all(400 <= count <= 600 for count in wins.values()), wins


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 40),
    capacity=st.integers(0, 12),
    seed=st.text(min_size=1, max_size=16),
)
def test_winners_never_exceed_capacity_and_order_is_a_permutation(count, capacity, seed):
    pool = entries(count)
    winners = select_winners(pool, seed, {SLOT: capacity})
    assert len(winners) == min(count, capacity)
    assert sorted(draw_order([e.id for e in pool], seed)) == sorted(e.id for e in pool)
    assert winners == [e for e in draw_order([e.id for e in pool], seed) if e in set(winners)]
