"""Pydantic models of the domain: the tour, the tour schedule, availability."""
