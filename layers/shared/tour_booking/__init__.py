"""Shared layer of the tour-booking component: settings, database access, domain model, ResMan client."""
