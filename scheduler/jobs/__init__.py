"""Time-driven duties on APScheduler 3, run by exactly one process at a time."""
