"""Benchmarks: `make bench` runs every module here (python -m bench.NAME)."""
