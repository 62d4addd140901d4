"""ui package (see docs/architecture.md)."""
