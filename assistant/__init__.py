"""assistant package (see docs/architecture.md)."""
