"""Webhooks: partners and staff register endpoints; outbox events are POSTed to them, signed."""
