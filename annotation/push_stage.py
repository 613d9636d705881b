"""The push stage as one library entry point: read the candidates, optionally draft a question per pair with an
LLM and check the drafts with the blind probes, then push the tasks (`push_tasks.push`). `mmra annotate push` is
a thin face over it; the clients come from the command-line edge (`mmra.llm.endpoints.open_client`).

    result = push_stage(conn, PushOptions(candidates=Path("candidates.jsonl"), project="mmra", roots=roots))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .push_tasks import PushReport


@dataclass
class DraftOptions:
    client: Any  # a checked ChatClient of the draft model
    vision: bool = False  # send both images (a vision model)
    text_models: dict[str, Any] | None = None  # label -> ChatClient of text-only models probing the drafts
    reference: list[Any] = field(default_factory=list)  # already-pulled Samples: more text for the learned probe
    blind: Any = None  # BlindSettings of the learned probe (None: the defaults)


@dataclass
class PushOptions:
    candidates: Path
    project: str
    roots: tuple[Path, ...] | None = None  # allowed image folders (images.allowed_roots at the CLI edge)
    annotators_per_task: int = 2
    batch_size: int = 100
    drafts: DraftOptions | None = None


@dataclass
class PushStageResult:
    report: PushReport
    read_errors: list[str]  # candidate lines that could not be read, one message each
    candidates: int
    drafted: int = 0
    drafted_from_images: int = 0
    leaky_drafts: int = 0
    draft_checks: list[str] = field(default_factory=list)  # which probes checked the drafts
    draft_skipped: list[str] = field(default_factory=list)  # which could not run, and why


def push_stage(conn: Any, opts: PushOptions, *, say: Callable[[str], None] = lambda line: None,
               warn: Callable[[str, str], None] = lambda label, line: None) -> PushStageResult:
    """`say(line)` reports progress; `warn(label, line)` one line about one item (a skipped line, a draft that
    failed). Raises FileNotFoundError for a missing candidates file."""
    from mmra.benchmark.records import read_jsonl
    from mmra.benchmark.schema import Candidate

    from .push_tasks import push

    check_candidates_file(opts.candidates)
    errors: list[str] = []
    cands = read_jsonl(opts.candidates, Candidate, errors=errors)
    for problem in errors:
        warn("skipped:", problem)
    base_dir = opts.candidates.resolve().parent
    result = PushStageResult(report=PushReport(opts.project, 0, 0), read_errors=errors, candidates=len(cands))
    drafts = _drafts(cands, opts, base_dir, result, say, warn) if opts.drafts else None
    result.report = push(conn, cands, opts.project, annotators_per_task=opts.annotators_per_task,
                         batch_size=opts.batch_size, drafts=drafts, base_dir=base_dir, roots=opts.roots)
    return result


def check_candidates_file(path: Path) -> None:
    """One line for a candidates path that is not a file (before any server or model is contacted)."""
    if not path.is_file():
        cause = "is a folder, not a JSONL file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"candidates file {path} {cause}")


def _drafts(cands: list[Any], opts: PushOptions, base_dir: Path, result: PushStageResult,
            say: Callable[[str], None], warn: Callable[[str, str], None]) -> dict[str, Any]:
    from .check import check_drafts
    from .preannotate import draft_images, draft_questions

    d = opts.drafts
    images = draft_images(cands, base_dir=base_dir, roots=opts.roots)[0] if d.vision else None
    notes: list[str] = []
    drafts, failed = draft_questions(cands, d.client, images=images, notes=notes)
    for note in notes:
        say(note)
    for cid, reason in failed:
        warn("no draft", f"for {cid}: {reason}")
    result.drafted = len(drafts)
    result.drafted_from_images = sum(x.vision for x in drafts.values())
    say(f"{len(drafts)} of {len(cands)} candidates have an LLM draft ({d.client.model}"
        + (f"; {result.drafted_from_images} from both images" if d.vision else "") + ")")
    run = check_drafts(cands, drafts, d.reference, blind=d.blind, text_models=d.text_models)
    result.leaky_drafts = sum(bool(x.check_result and x.check_result["leaky"]) for x in drafts.values())
    result.draft_checks, result.draft_skipped = list(run.checked), list(run.skipped)
    say(f"draft check: {result.leaky_drafts} of {len(drafts)} drafts answered without the images"
        + (f" (checked with: {'; '.join(run.checked)})" if run.checked else "")
        + (f"; not run: {'; '.join(run.skipped)}" if run.skipped else ""))
    return drafts
