"""Annotation: a Label Studio round trip (serve, push, pre-annotate, pull, validate, agree, revise)."""
