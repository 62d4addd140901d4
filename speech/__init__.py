"""speech package (see docs/architecture.md)."""
