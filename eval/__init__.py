"""Evaluation: batched multi-image VLM inference over a release, and scoring."""
