"""Question-only answer-leakage filter (`mmra leakage`): text-only LLMs answer each question without the
images, under every circular shift of the options; samples that too many models get right are flagged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from mmra.llm.endpoints import Endpoint, parse_model_spec

    from .load import load_samples
    from .method import default_max_hits, probes_for
    from .run import LeakageResult, LeakageSettings, run_leakage, write_outputs

_EXPORTS = {
    "load_samples": ".load",
    "default_max_hits": ".method",
    "probes_for": ".method",
    "Endpoint": "mmra.llm.endpoints",
    "LeakageResult": ".run",
    "LeakageSettings": ".run",
    "parse_model_spec": "mmra.llm.endpoints",
    "run_leakage": ".run",
    "write_outputs": ".run",
}
__all__ = ["Endpoint", "LeakageResult", "LeakageSettings", "default_max_hits", "load_samples",
           "parse_model_spec", "probes_for", "run_leakage", "write_outputs"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: the CLI starts fast
