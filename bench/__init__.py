"""Benchmarks (`make bench`): not tests; each module prints its own table."""
