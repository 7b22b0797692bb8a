"""Benchmarks and profiling: model steps, attention grid, collectives (``lmforge systems ...``)."""
