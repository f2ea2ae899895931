"""The reports' fixtures: the shipped library (tests/scenarios) and a small hand-built city on it."""
from tests.scenarios.conftest import library  # noqa: F401  (the fixture, shared)
