"""planner package (see docs/architecture.md)."""
