"""Seasonal allocation rounds: staff open a round, groups apply for recurring slots, staff
allocate, and the allocation books the season at once."""
