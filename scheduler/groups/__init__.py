"""Resource groups: resources sharing a per-person limit (one school ground per evening)."""
