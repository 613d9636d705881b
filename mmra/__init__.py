"""MMRA toolkit: build and evaluate multi-image relational-association benchmarks."""

__version__ = "0.1.0"
