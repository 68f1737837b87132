"""Valorize's domain: aggregates with their events nested inside them, plus value objects."""
