"""Dramatiq actors and the timer scheduler: thin adapters over engine services."""
