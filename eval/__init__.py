"""Evaluation: batched multi-image VLM inference over a release, and scoring.

Python API (what `mmra eval` / `mmra score` / `mmra describe` call):

    from mmra.eval import evaluate, score, score_runs, write_report, describe
    result = evaluate("releases/mmra-mini/1.0.0", model="tiny:qwen2-vl", out="runs/tiny", batch_size=8)
    result.scores["overall"], result.scores["subtasks"]["SubE"]["accuracy"], result.predictions
    scores = score(["runs/a/predictions.jsonl", "runs/b/predictions.jsonl"])        # in process, no files
    scores, runs = score_runs([...]); write_report(scores, runs, Path("runs/compare"))  # the caller writes
    scores, runs = summarise_runs([result.run, ...])  # runs of this process, scored from their typed items
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from .backends import make_backend
    from .captions import describe
    from .report import write_report
    from .runner import evaluate
    from .scoring import score, score_runs, summarise_runs

_EXPORTS = {
    "describe": ".captions",
    "evaluate": ".runner",
    "make_backend": ".backends",
    "score": ".scoring",
    "score_runs": ".scoring",
    "summarise_runs": ".scoring",
    "write_report": ".report",
}
__all__ = ["describe", "evaluate", "make_backend", "score", "score_runs", "summarise_runs", "write_report"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: the CLI starts fast
