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

from typing import TYPE_CHECKING

from mmra.faces import lazy_exports

if TYPE_CHECKING:  # the static face: editors and type checkers see these names
    from .labeling import QAContent, label_config
    from .pull_samples import PullReport, pull
    from .push_tasks import Draft, PushReport, push
    from .revise_tasks import revise
    from .server import Connection, connection, stop
    from .server import start as start_server
    from .users import annotate, annotate_many, create_annotator

_EXPORTS = {
    "QAContent": ".labeling", "label_config": ".labeling",
    "PullReport": ".pull_samples", "pull": ".pull_samples",
    "Draft": ".push_tasks", "PushReport": ".push_tasks", "push": ".push_tasks",
    "revise": ".revise_tasks",
    "Connection": ".server", "connection": ".server", "stop": ".server", "start_server": ".server:start",
    "annotate": ".users", "annotate_many": ".users", "create_annotator": ".users",
}
__all__ = ["Connection", "Draft", "PullReport", "PushReport", "QAContent", "annotate", "annotate_many", "connection",
           "create_annotator", "label_config", "pull", "push", "revise", "start_server", "stop"]
__getattr__ = lazy_exports(__name__, _EXPORTS)  # imported on first use: `mmra --help` stays fast
