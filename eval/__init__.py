"""Evaluation: batched multi-image VLM inference over a release, and scoring.

Python API (what `mmra eval` / `mmra score` / `mmra describe` call):

    from mmra.eval import evaluate, score, describe
    result = evaluate("releases/mmra-mini/1.0.0", model="tiny:qwen2-vl", out="runs/tiny", batch_size=8)
    result.scores["overall"], result.scores["subtasks"]["SubE"]["accuracy"], result.predictions
    scores = score(["runs/a/predictions.jsonl", "runs/b/predictions.jsonl"], out="runs/compare")
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe", "evaluate", "make_backend", "score"]


def __getattr__(name: str) -> Any:  # lazy: `import mmra.eval` stays cheap for the CLI
    if name == "evaluate":
        from .runner import evaluate

        return evaluate
    if name == "score":
        from .scoring import score

        return score
    if name == "describe":
        from .captions import describe

        return describe
    if name == "make_backend":
        from .backends import make_backend

        return make_backend
    raise AttributeError(name)
