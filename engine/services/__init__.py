"""Engine services: plain functions taking a command and a unit of work."""
