"""Benchmarks: one command per figure (docs/benchmarks.md). Not tests: CI never runs them."""
