"""Evaluation: batched multi-image VLM inference over a release, and scoring.

Python API (what `mmra eval` / `mmra score` / `mmra describe` call):

    from mmra.eval import evaluate, score, score_runs, write_report, describe
    result = evaluate("releases/mmra-mini/1.0.0", model="tiny:qwen2-vl", out="runs/tiny", batch_size=8)
    result.scores["overall"], result.scores["subtasks"]["SubE"]["accuracy"], result.predictions
    scores = score(["runs/a/predictions.jsonl", "runs/b/predictions.jsonl"])        # in process, no files
    scores, runs = score_runs([...]); write_report(scores, runs, Path("runs/compare"))  # the caller writes
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from .backends import make_backend
    from .captions import describe
    from .report import write_report
    from .runner import evaluate
    from .scoring import score, score_runs

__all__ = ["describe", "evaluate", "make_backend", "score", "score_runs", "write_report"]
_WHERE = {"describe": ".captions", "evaluate": ".runner", "make_backend": ".backends", "score": ".scoring",
          "score_runs": ".scoring", "write_report": ".report"}


def __getattr__(name: str) -> Any:  # lazy at run time: `import mmra.eval` stays cheap for the CLI
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(name)
