"""Question-only answer-leakage filter (`mmra leakage`): text-only LLMs answer each question without the
images, under every circular shift of the options; samples that too many models get right are flagged."""

from .load import load_samples
from .method import default_max_hits, probes_for
from .run import Endpoint, LeakageResult, LeakageSettings, parse_model_spec, run_leakage, write_outputs

__all__ = [
    "Endpoint", "LeakageResult", "LeakageSettings", "default_max_hits", "load_samples", "parse_model_spec",
    "probes_for", "run_leakage", "write_outputs",
]
