"""Annotation: a Label Studio round trip (serve, push, pre-annotate, pull, validate, agree, revise).

Python API (the demo and other stages call these; the CLI is `mmra annotate ...`):

    from mmra.annotation import start_server, connection, push, pull, revise, create_annotator, annotate
    state, conn = start_server(config.label_studio)          # or conn = connection(config) for a running/remote one
    push(conn, candidates, "my-project", annotators_per_task=2, drafts=None)   # idempotent
    annotator = create_annotator(conn, "ann1@example.org", "a-password")      # a second account, as itself
    annotate(annotator, "my-project", candidate.id, QAContent("multiple_choice", "Q?", ["a", "b", "c"], "A"))
    annotate_many(annotator, "my-project", [(candidate_id, content), ...])   # playback: lists tasks once
    report = pull(conn, "my-project", Path("samples.jsonl"), min_annotations=2)   # + samples.report.json
    revise(conn, flagged_samples, "my-project")               # leakage-flagged samples back to annotators
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# public name -> (module, attribute); imported on first use, so `mmra --help` stays fast
_EXPORTS = {
    "QAContent": ("labeling", "QAContent"), "label_config": ("labeling", "label_config"),
    "PullReport": ("pull", "PullReport"), "pull": ("pull", "pull"),
    "Draft": ("push", "Draft"), "PushReport": ("push", "PushReport"), "push": ("push", "push"),
    "revise": ("revise", "revise"),
    "Connection": ("server", "Connection"), "connection": ("server", "connection"), "stop": ("server", "stop"),
    "start_server": ("server", "start"),
    "annotate": ("users", "annotate"), "annotate_many": ("users", "annotate_many"),
    "create_annotator": ("users", "create_annotator"),
}
__all__ = sorted(_EXPORTS)


class _Package(types.ModuleType):
    """Importing the submodule `push` binds it on the package under the name of the exported function
    `push` (same for pull, revise); keep the function there, whatever was imported first."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
