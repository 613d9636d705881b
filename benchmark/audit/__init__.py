"""Auditing any benchmark in its own format: what its text alone gives away, and a blind-proof subset."""
