"""Usage reports: open, capacity and booked hours, utilization and no-shows, by group."""
