"""`mmra demo`: every stage, for real, on the project's embedded default, in one workspace folder.

    0. generate ~50 drawn scenes + manifest (CC0, made at run time) and take the bundled relation list
    1. curate candidate pairs for every subtask the material allows         -> curation/candidates.jsonl
    2. start Label Studio, push, play back two SCRIPTED annotator accounts, pull and validate
                                                                             -> annotation/samples.jsonl
    3. leakage probe panel: the embedded local LLM answers without the images (every option rotation, and
       the exact QO prompt of `mmra eval`), plus the model-free probes (answer prior, learned text-bias probe)
                                                                             -> leakage/
    4. flagged samples go back to Label Studio as revision tasks (`mmra annotate revise`); a SCRIPTED reviser
       rewrites them (another question about the pair, or a reject); pull again and re-check
                                                                             -> revision/, leakage-recheck/
    5. publish 0.1.0 through the release gate (flagged samples in a separate config, answer key balanced,
       refused when a subtask is answerable blind; no --allow-blind-gap)  -> releases/mmra-demo/0.1.0/
    6. evaluate the QO and DQ settings with the local LLM (IQ too with --model), score, print the table and
       the blind numbers before and after

Everything calls the stages' Python APIs, the way a user's own release goes through them. Re-running reuses
what is there (the LLM cache answers repeated prompts, the push adds nothing new, the scripted accounts skip
tasks they already annotated, a sample is revised once, publishing the same content again is a no-op).
Servers this run started are stopped at the end (Label Studio stays up with --keep-serving); servers that
were already running are left alone.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from mmra.benchmark.records import read_jsonl, write_jsonl
from mmra.benchmark.schema import Candidate, Sample
from mmra.config import Config, LabelStudioConfig
from mmra.errors import MMRAError
from mmra.output import literal_console
from mmra.progress import progress_bar

from .annotators import ANNOTATORS, RELATIONS_FILE, Draft, ScriptedItem, script_annotations, scripted_revision

MARKER = ".mmra-demo"
PROJECT = "mmra-demo"
RELEASE_NAME = "mmra-demo"
VERSION = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_REVISION_ROUNDS = 10  # a safety cap: each round only revises samples never revised before

console = literal_console(stderr=True, highlight=False)


@dataclass
class DemoOptions:
    workspace: Path
    model: str | None = None  # a Hugging Face VLM id/path for the IQ setting
    fresh: bool = False
    llm: str = "qwen2.5-1.5b"  # embedded local model for leakage and the QO/DQ evaluation
    per_subtask: int = 7  # candidates curated per subtask (the demo's time budget: see README)
    eval_limit: int | None = None
    keep_serving: bool = False
    port: int | None = None  # Label Studio port (default: config, or a free one when taken)
    batch_size: int = 4  # for the HF backend (IQ)
    config: Config = field(default_factory=Config)  # the user's config, read by `mmra demo` at the CLI edge


@dataclass
class StepRecord:
    name: str
    seconds: float = 0.0
    artefacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class DemoState:
    opts: DemoOptions
    ws: Path
    steps: list[StepRecord] = field(default_factory=list)
    started_servers: list[str] = field(default_factory=list)
    ls_cfg: LabelStudioConfig | None = None
    ls_url: str | None = None
    llm_url: str | None = None
    llm_start: Any = None  # the local model server's start, under way while Label Studio works (a Future)
    conn: Any = None  # the Label Studio connection (annotation, revision)
    items: dict[str, ScriptedItem] = field(default_factory=dict)  # scripted annotations by candidate id
    scores: dict[str, Any] | None = None
    blind_before: dict[str, Any] | None = None  # leakage report of the annotated samples
    blind_after: dict[str, Any] | None = None  # the release's validity report (default config)
    started_at: float = field(default_factory=time.monotonic)

    def step(self, name: str) -> StepRecord:
        console.rule(Text(f"{len(self.steps) + 1}. {name}", style="bold"))
        record = StepRecord(name)
        self.steps.append(record)
        return record

    def path(self, *parts: str) -> Path:
        p = self.ws.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


# ----------------------------------------------------------------------------------------------- workspace


def prepare_workspace(ws: Path, fresh: bool, fixed: dict[str, Any] | None = None) -> None:
    """Create the workspace; with `fresh`, delete an earlier demo workspace first (never another folder).
    `fixed`: the options that decide the content (candidates per subtask, LLM); a re-run must use the same
    ones, since the release 0.1.0 it publishes is immutable."""
    ws = ws.resolve()
    marker = ws / MARKER
    if ws.exists() and any(ws.iterdir()) and not marker.exists():
        raise MMRAError(f"{ws} exists and is not an mmra demo workspace (no {MARKER} file); choose another "
                        "--workspace or empty it")
    if fresh and ws.exists():
        _stop_label_studio_of(ws)
        shutil.rmtree(ws)
    fixed = fixed or {}
    if marker.exists() and fixed:
        try:
            before = json.loads(marker.read_text()).get("options", {})
        except ValueError:
            before = {}
        changed = {k: (before[k], v) for k, v in fixed.items() if k in before and before[k] != v}
        if changed:
            what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            raise MMRAError(f"{ws} was made with other options ({what}); its release {VERSION} is immutable, so "
                            "re-run with the same options, or add --fresh to start over")
    ws.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"created_by": "mmra demo (`mmra demo --fresh` may delete this folder)",
                                  "options": fixed}, indent=1) + "\n")


def _ls_venv(venv: Path) -> Path:
    venv = Path(venv)
    if venv.is_absolute() or (Path.cwd() / venv).exists():
        return venv.resolve()
    return (REPO_ROOT / venv).resolve()  # run from elsewhere: the checkout's .venv-ls


def ls_config(ws: Path, port: int | None = None, base: LabelStudioConfig | None = None) -> LabelStudioConfig:
    """The demo's Label Studio: the user's `[label_studio]` settings (`base`) with the workspace's data dir."""
    base = base or LabelStudioConfig()
    return base.model_copy(update={"url": None, "data_dir": (ws / "label-studio").resolve(),
                                   "venv": _ls_venv(base.venv),
                                   "port": port or base.port, "annotators_per_task": 2})


def _stop_label_studio_of(ws: Path, base: LabelStudioConfig | None = None) -> None:
    from mmra.annotation import stop

    if (ws / "label-studio").exists():
        stop(ls_config(ws, base=base))


def write_workspace_config(ws: Path, cfg: LabelStudioConfig) -> Path:
    """A `mmra.toml` for this workspace, so `MMRA_CONFIG=<ws>/mmra.toml mmra annotate serve` reopens the
    demo's Label Studio (no secrets in it: those stay in the data dir's private credentials file)."""
    import tomli_w

    path = ws / "mmra.toml"
    data = {"label_studio": {"data_dir": str(cfg.data_dir), "venv": str(cfg.venv), "port": cfg.port,
                             "annotators_per_task": 2}}
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- steps


def step_generate(st: DemoState) -> Path:
    from .generate import SCENE_LIST, generate_corpus

    rec = st.step("Generate the demo images (procedural scenes, CC0, drawn now)")
    t0 = time.monotonic()
    with progress_bar() as bar:
        job = bar.add_task("drawing scenes", total=len(SCENE_LIST))
        manifest = generate_corpus(st.ws / "corpus", progress=lambda: bar.advance(job))
    relations = st.path("corpus", "relations.tsv")
    shutil.copyfile(RELATIONS_FILE, relations)
    rec.seconds = time.monotonic() - t0
    rec.artefacts = {"images": str(manifest.parent / "images"), "manifest": str(manifest),
                     "relations": str(relations)}
    n_edges = sum(1 for line in relations.read_text().splitlines() if line.strip())
    rec.notes.append(f"{len(SCENE_LIST)} images, {n_edges} hand-written ConceptNet-style edges")
    return manifest


def step_curate(st: DemoState, manifest: Path) -> list[Candidate]:
    from mmra.curation.pipeline import curate

    rec = st.step("Curate candidate pairs (ConceptNet-style edges + images -> candidates)")
    t0 = time.monotonic()
    out = st.ws / "curation"
    result = curate(conceptnet=[st.ws / "corpus" / "relations.tsv"], manifests=[manifest], out_dir=out,
                    per_subtask=st.opts.per_subtask, seed=0)
    candidates = read_jsonl(out / "candidates.jsonl", Candidate)
    rec.seconds = time.monotonic() - t0
    rec.artefacts = {"candidates": str(out / "candidates.jsonl"), "report": str(out / "curation_report.json")}
    per = Counter(c.subtask for c in candidates)
    rec.notes.append(f"{len(candidates)} candidates for {len(per)} of 11 subtasks: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(per.items())))
    del result
    return candidates


def _annotator_passwords(data_dir: Path) -> dict[str, str]:
    """The scripted accounts' passwords: generated once, kept private in the Label Studio data dir."""
    import os
    import secrets

    path = data_dir / ".mmra-demo-annotators.json"
    if path.exists():
        return json.loads(path.read_text())
    passwords = {email: secrets.token_urlsafe(15) for email in ANNOTATORS}
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh)
    return passwords


def _annotator_view(conn) -> list[str]:
    """Issue 15, the annotators' side of the demo's project: `mmra annotate check` (a dry run here: nothing is
    sent back) and `mmra annotate status`. The accounts are SCRIPTED, and the lines say so."""
    from mmra.annotation.check import check_project
    from mmra.annotation.status import project_status, summary_lines
    from mmra.benchmark.leakage.blind import BlindSettings

    probe = check_project(conn, PROJECT, blind=BlindSettings(embedder=None), send=False, show_progress=False)
    lines = [f"annotate check (dry run, SCRIPTED accounts): {probe.flagged} of {probe.probed} submitted questions "
             "answered without the images" + (f"; not run: {'; '.join(probe.skipped)}" if probe.skipped else "")]
    return lines + [f"annotate status (SCRIPTED): {line}" for line in summary_lines(project_status(conn, PROJECT))]


def step_annotate(st: DemoState, candidates: list[Candidate], manifest: Path) -> Path:
    from mmra.annotation import QAContent, create_annotator, pull, push, start_server
    from mmra.annotation.project import Project
    from mmra.annotation.pull_samples import report_path
    from mmra.annotation.server import STATE_FILE, template_dir_for
    from mmra.annotation.users import annotate_task
    from mmra.procs import ServerState, free_port, port_in_use

    rec = st.step("Annotate in Label Studio (two SCRIPTED annotator accounts play back bundled answers)")
    t0 = time.monotonic()
    cfg = ls_config(st.ws, st.opts.port, st.opts.config.label_studio)
    previous = ServerState.load(Path(cfg.data_dir) / STATE_FILE)
    reuse = previous is not None and previous.alive()
    if reuse:
        cfg = cfg.model_copy(update={"port": previous.port})
    elif port_in_use(cfg.port):
        cfg = cfg.model_copy(update={"port": free_port()})
    st.ls_cfg = cfg
    write_workspace_config(st.ws, cfg)
    console.print("starting Label Studio (the first time ever, its database migrates: ~30-60 s) ..." if not reuse
                  else f"reusing the running Label Studio on port {cfg.port}")
    # the pre-migrated template shared with `mmra annotate serve` and the tests: seconds instead of a migration
    template = template_dir_for(Path(st.opts.config.paths.cache), Path(cfg.venv))
    _, conn = start_server(cfg, timeout=300, template_dir=template)
    st.ls_url, st.conn = conn.url, conn
    if not reuse:
        st.started_servers.append("label-studio")

    push_report = push(conn, candidates, PROJECT, annotators_per_task=2)
    rec.notes.append(f"pushed {push_report.total} tasks to project {PROJECT!r}")
    stale = _drop_stale_tasks(conn, {c.id for c in candidates})
    if stale:
        rec.notes.append(f"removed {stale} tasks of an earlier run whose pairs the curation no longer proposes")

    items = script_annotations(candidates, manifest)
    st.items = {i.candidate_id: i for i in items}
    console.print(Text.assemble(("The annotations below are SCRIPTED", "bold yellow"), ": two demo accounts submit "
                                "answers that the demo writes from its own scene graphs (templates + hand-written "
                                "distractors). No person annotated anything."))
    passwords = _annotator_passwords(Path(cfg.data_dir))
    accounts = {email: create_annotator(conn, email, passwords[email]) for email in ANNOTATORS}
    project = Project.open(conn, PROJECT)
    as_user = {email: Project(acc, project.id, PROJECT) for email, acc in accounts.items()}  # acts as that account
    try:
        exported = project.export()
        done = {(str((t.get("data") or {}).get("external_id")), _email(a)) for t in exported
                for a in t.get("annotations") or [] if not a.get("was_cancelled")}
        task_ids = {str((t.get("data") or {}).get("external_id")): t["id"] for t in exported}
        submitted = 0
        with progress_bar() as bar:
            job = bar.add_task("scripted annotations", total=len(items) * len(ANNOTATORS))
            for item in items:
                for email in ANNOTATORS:
                    if (item.candidate_id, email) not in done:
                        if item.candidate_id not in task_ids:
                            raise MMRAError(f"project {PROJECT!r} has no task for candidate {item.candidate_id}")
                        annotate_task(as_user[email], task_ids[item.candidate_id], _content(QAContent, item, email))
                        submitted += 1
                    bar.advance(job)
        write_jsonl(st.path("annotation", "scripted-annotations.jsonl"), _scripted_rows(items))
        rec.notes.append(f"{submitted} scripted annotations submitted ({len(items) * 2 - submitted} already there)")

        out = st.path("annotation", "samples.jsonl")
        report = pull(conn, PROJECT, out, min_annotations=2)
        # the scripted reviewer settles what the two accounts disagreed on (ground truth, as the admin)
        by_id = {i.candidate_id: i for i in items}
        reviewed = 0
        if report.needs_review:
            tasks = project.tasks_by_external_id()
            for entry in report.needs_review:
                item = by_id.get(entry["external_id"])
                if item is None or not tasks.get(entry["external_id"]):
                    continue
                annotate_task(project, tasks[entry["external_id"]][0].id,
                              _content(QAContent, item, "reviewer"), ground_truth=True)
                reviewed += 1
            if reviewed:
                report = pull(conn, PROJECT, out, min_annotations=2)
        rec.notes += _annotator_view(conn)  # per annotator: tasks, time, agreement, probe flags (issue 15)
        export_path = st.path("annotation", "label-studio-export.json")
        export_path.write_text(json.dumps(project.export(), indent=1, ensure_ascii=False), encoding="utf-8")
    finally:
        project.close()
        for p in as_user.values():
            p.close()

    rec.seconds = time.monotonic() - t0
    rec.artefacts = {"samples": str(out), "pull report": str(report_path(out)),
                     "Label Studio export": str(export_path),
                     "scripted annotations": str(st.ws / "annotation" / "scripted-annotations.jsonl")}
    kappas = {k: v.get("keep_reject_kappa") for k, v in report.agreement.items()}
    rec.notes.append(f"{report.samples} samples; {len(report.rejected)} pairs rejected, {reviewed} settled by the "
                     f"scripted reviewer, {len(report.invalid)} invalid annotations, {len(report.needs_review)} still "
                     "in review")
    shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(kappas.items()) if v is not None)
    rec.notes.append(f"keep/reject kappa per subtask: {shown or 'n/a'} (undefined where every pair was kept)")
    return out


def _drop_stale_tasks(conn, current: set[str]) -> int:
    """The demo's project mirrors the current curation: tasks of candidates that an earlier run (older code
    or inputs) proposed and this one does not are removed, so they do not reach the release."""
    from mmra.annotation.project import Project

    project = Project.open(conn, PROJECT)
    try:
        def candidate_of(task) -> str:  # a revision task belongs to the candidate of the sample it revises
            if task.data.get("revision_of"):
                return str((task.data.get("mmra_candidate") or {}).get("id"))
            return str(task.data.get("external_id"))

        stale = [t.id for t in project.tasks() if candidate_of(t) not in current]
        project.delete_tasks(stale)
    finally:
        project.close()
    return len(stale)


def _email(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    return who.get("email", "") if isinstance(who, dict) else str(who)


def _content(QAContent, item: ScriptedItem, who: str):
    draft = item.gold if who == "reviewer" else item.by_annotator[who]
    return QAContent(qa_type=draft.qa_type, question=draft.question, options=list(draft.options),
                     answer=draft.answer, verdict=draft.verdict, reject_reason=draft.reject_reason)


def _scripted_rows(items: list[ScriptedItem]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [{"candidate_id": i.candidate_id, "subtask": i.subtask, "scripted": True,
             "annotations": {who: asdict(d) for who, d in i.by_annotator.items()}, "reviewer": asdict(i.gold)}
            for i in items]


def add_descriptions(samples_path: Path, manifest: Path, out: Path) -> Path:
    """DQ needs a text description of each image: the demo uses the generator's own captions (an oracle
    description, said so in the summary), joined into one paragraph per image."""
    from .annotators import scene_name

    captions = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        captions[rec["id"]] = " ".join(rec["captions"][:2])  # two sentences: enough, and shorter prompts
    samples = read_jsonl(samples_path, Sample)
    described = []
    for s in samples:
        desc = {key: captions[name] for key, ref in (("image1", s.image1), ("image2", s.image2))
                if (name := scene_name(ref)) in captions}
        described.append(s.model_copy(update={"descriptions": desc}))
    write_jsonl(out, described)
    return out


def llm_cache(ws: Path) -> Path:
    """The demo's own LLM response cache: a re-run answers from it, --fresh really starts over."""
    path = ws / "cache" / "llm.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# the probe kinds the demo's LLM answers: every option rotation (flags) and the exact QO request of the
# evaluation that follows (evidence; a constant guesser would hit it); the paper profile and choices-only cost
# another ~300 requests on 2 cores and are left to `mmra leakage`
DEMO_PROBES = ("circular", "eval-default")


def start_llm_server_early(st: DemoState) -> None:
    """Start the local model's server in the background: it loads (seconds) while Label Studio works, and the
    leakage step then finds it ready (`_ensure_llm_server` waits for it and raises what the start raised)."""
    from concurrent.futures import ThreadPoolExecutor

    if st.llm_url is None and st.llm_start is None:
        pool = ThreadPoolExecutor(1, thread_name_prefix="mmra-llm-start")
        st.llm_start = pool.submit(_start_llm_server, st)
        pool.shutdown(wait=False)


def _ensure_llm_server(st: DemoState) -> str:
    """The local model's server (started once per run, and stopped at the end if this run started it)."""
    future, st.llm_start = st.llm_start, None
    if future is not None:
        future.result()
    return st.llm_url or _start_llm_server(st)


def _start_llm_server(st: DemoState) -> str:
    from mmra.llm.server import LocalServers, ensure_server, running

    servers = LocalServers.from_config(st.opts.config)
    was_running = running(st.opts.llm, servers) is not None
    console.print(f"starting the local model server {st.opts.llm} ..." if not was_running else
                  f"reusing the running {st.opts.llm} server")
    st.llm_url = ensure_server(st.opts.llm, servers=servers)
    if not was_running:
        st.started_servers.append(f"llm:{st.opts.llm}")
    return st.llm_url


def step_leakage(st: DemoState, samples_path: Path, folder: str = "leakage", title: str | None = None):
    """The probe panel over `samples_path` through the leakage stage's own entry point (`leakage_stage`, as
    `mmra leakage` runs it): the local LLM without images, then the model-free probes; the panel's policy
    (`llm`, `learned`) makes the verdicts. Returns the LeakageResult."""
    from mmra.benchmark.leakage import LeakageSettings
    from mmra.benchmark.leakage.stage import LeakageOptions, leakage_stage
    from mmra.llm.endpoints import ClientOptions
    from mmra.llm.server import LocalServers

    rec = st.step(title or f"Leakage probe panel (local LLM {st.opts.llm} without the images + model-free probes)")
    t0 = time.monotonic()
    if not read_jsonl(samples_path, Sample):
        raise MMRAError(f"{samples_path}: no samples came out of annotation; nothing to test for leakage")
    _ensure_llm_server(st)  # kept for the evaluation too
    cfg = st.opts.config
    stage = leakage_stage(
        LeakageOptions(samples=samples_path, out=st.ws / folder, models=[st.opts.llm],
                       settings=LeakageSettings(probes=DEMO_PROBES, choices_only=False),
                       clients=ClientOptions(cache_path=llm_cache(st.ws), keep_servers=True),
                       image_roots=image_roots(st.ws)),
        llm=cfg.llm, servers=LocalServers.from_config(cfg), say=lambda line: console.print(line))
    result, samples = stage.result, stage.result.samples
    rec.seconds = time.monotonic() - t0
    rec.artefacts = {k: str(v) for k, v in stage.paths.items()}
    by = Counter(src for v in result.verdicts for src in v.get("flagged_by", []))
    rec.notes.append(f"{len(result.flagged)} of {len(samples)} samples flagged as answerable without the images ("
                     + ", ".join(f"{n} by {src}" for src, n in sorted(by.items())) + ")" if by else
                     f"0 of {len(samples)} samples flagged as answerable without the images")
    totals = result.report["totals"]
    rec.notes.append("blind accuracy: " + _blind_line(totals))
    for line in stage.panel.blind.warnings:
        rec.notes.append(f"warning: {line}")
    return result


def _blind_line(row: dict[str, Any]) -> str:
    probes = row.get("probes") or {}
    parts = [f"chance {100 * row['chance']:.1f}%"]
    for name in ("answer_prior", "learned"):
        acc = (probes.get(name) or {}).get("accuracy")
        if acc is not None:
            parts.append(f"{name.replace('_', ' ')} {100 * acc:.1f}%")
    return ", ".join(parts)


def step_revise(st: DemoState, flagged: list[Sample], manifest: Path) -> Path | None:
    """Flagged samples go back to Label Studio as revision tasks (`mmra annotate revise`); the SCRIPTED
    reviser writes the rewrite as both annotator accounts; pull again. A sample is revised once: a revision
    the panel flags again stays flagged (it goes to the release's `flagged` config). None: nothing to revise."""
    from mmra.annotation import QAContent, pull, revise
    from mmra.annotation.project import Project
    from mmra.annotation.pull_samples import report_path
    from mmra.annotation.users import annotate_task

    todo = [s for s in flagged if not s.annotation.history]
    if not todo:
        return None
    rec = st.step("Revise the flagged samples in Label Studio (a SCRIPTED reviser rewrites them)")
    t0 = time.monotonic()
    report = revise(st.conn, todo, PROJECT, show_progress=False)
    console.print(Text.assemble(("The revisions below are SCRIPTED", "bold yellow"), ": for each flagged question the "
                                "demo asks the same pair another way (or rejects it), submitted by the two demo "
                                "accounts. No person wrote them."))
    passwords = _annotator_passwords(Path(st.ls_cfg.data_dir))
    from mmra.annotation import create_annotator

    accounts = {email: create_annotator(st.conn, email, passwords[email]) for email in ANNOTATORS}
    project = Project.open(st.conn, PROJECT)
    as_user = {email: Project(acc, project.id, PROJECT) for email, acc in accounts.items()}
    rewrites: list[dict[str, Any]] = []
    submitted = 0
    try:
        exported = project.export()
        done = {(str((t.get("data") or {}).get("external_id")), _email(a)) for t in exported
                for a in t.get("annotations") or [] if not a.get("was_cancelled")}
        task_ids = {str((t.get("data") or {}).get("external_id")): t["id"] for t in exported}
        for sample in todo:
            ext = f"rev-{sample.id}-r{len(sample.annotation.history) + 1}"
            item = st.items.get(sample.candidate_id or "")
            current = Draft(sample.qa_type.value, sample.question, list(sample.options), sample.answer)
            draft = scripted_revision(item, current) if item else Draft(
                None, verdict="reject", reject_reason="scripted reviser: not one of the demo's scripted pairs")
            rewrites.append({"sample_id": sample.id, "subtask": sample.subtask, "scripted": True,
                             "before": {"question": sample.question, "options": sample.options,
                                        "answer": sample.answer},
                             "after": {"question": draft.question, "options": draft.options, "answer": draft.answer,
                                       "verdict": draft.verdict, "reject_reason": draft.reject_reason}})
            if ext not in task_ids:
                raise MMRAError(f"project {PROJECT!r} has no revision task {ext}")
            content = QAContent(qa_type=draft.qa_type, question=draft.question, options=list(draft.options),
                                answer=draft.answer, verdict=draft.verdict, reject_reason=draft.reject_reason)
            for email in ANNOTATORS:
                if (ext, email) not in done:
                    annotate_task(as_user[email], task_ids[ext], content)
                    submitted += 1
    finally:
        project.close()
        for p in as_user.values():
            p.close()
    log = st.path("revision", "scripted-revisions.jsonl")
    earlier = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    seen = {r["sample_id"] for r in rewrites}
    write_jsonl(log, [r for r in earlier if r["sample_id"] not in seen] + rewrites)
    out = st.path("revision", "samples.jsonl")
    pulled = pull(st.conn, PROJECT, out, min_annotations=2)
    described = add_descriptions(out, manifest, st.path("revision", "samples.described.jsonl"))
    rec.seconds = time.monotonic() - t0
    rec.artefacts = {"scripted revisions": str(st.ws / "revision" / "scripted-revisions.jsonl"),
                     "samples": str(out), "pull report": str(report_path(out))}
    rejected = sum(r["after"]["verdict"] == "reject" for r in rewrites)
    rec.notes.append(f"{report.sent} revision tasks sent ({len(report.skipped)} skipped), {submitted} scripted "
                     f"revisions submitted: {len(rewrites) - rejected} rewritten, {rejected} rejected (pair dropped)")
    rec.notes.append(f"{pulled.samples} samples after the revision round ({len(pulled.revised)} revised)")
    return described


def step_publish(st: DemoState, samples_path: Path):

    rec = st.step(f"Publish {RELEASE_NAME} {VERSION} through the release gate (parquet + card + plots)")
    t0 = time.monotonic()
    store = st.ws / "releases"
    result = _publish_immutably(samples_path, store, st.ws / "data_cards", rec, image_roots(st.ws))
    rec.seconds = time.monotonic() - t0
    rec.artefacts = {"release": str(result.path), "card": str(result.card_path or result.path / "README.md")}
    plots = sorted(str(p) for p in Path(result.path).rglob("*.png"))
    if plots:
        rec.artefacts["plots"] = ", ".join(plots)
    validity = getattr(result, "validity", None) or {}  # the full report (the manifest keeps a summary)
    st.blind_after = validity
    flagged = (validity.get("flagged") or {}).get("n", 0)
    rec.notes.append(f"{RELEASE_NAME} {result.version}: {result.num_samples} samples, status {result.status} "
                     f"(fingerprint {result.fingerprint[:19]}...); {flagged} flagged sample(s) in the separate "
                     "`flagged` config")
    blind = validity.get("blind") or {}
    if blind.get("overall") and not (validity.get("gate") or {}).get("offending"):
        rec.notes.append("release gate passed (no --allow-blind-gap); default config blind accuracy: "
                         + _blind_line(blind["overall"]))
    for warning in result.warnings:
        rec.notes.append(f"warning: {warning}")
    return result


def image_roots(ws: Path) -> tuple[Path, ...]:
    """The folders the demo's stages may read image files from: where it draws its corpus (the one image rule,
    as `[paths].image_roots` would name it), not "anywhere"."""
    from mmra.benchmark.images import allowed_roots

    return allowed_roots(None, configured=[ws / "corpus"])


def _publish_immutably(samples_path: Path, store: Path, cards: Path, rec: StepRecord, roots: tuple[Path, ...]):
    """Publish 0.1.0; when this workspace already holds a release with other content (the code or the inputs
    changed since), releases being immutable, publish the next patch version with a changelog instead."""
    from functools import partial

    from mmra.benchmark.release import ReleaseConflictError, ReleaseStore, parse_version
    from mmra.benchmark.release import publish as publish_release
    from mmra.benchmark.release.validity import ValidityOptions

    # `mmra publish`'s defaults: flagged samples in their own config, answer key balanced, the release gate on
    # and NOT overridable here (no --allow-blind-gap): a refused release stops the demo with the gate's lines
    publish = partial(publish_release, validity=ValidityOptions(allow_blind_gap=False), roots=roots)
    try:
        return publish(samples_path, VERSION, store, name=RELEASE_NAME, cards_dir=cards)
    except ReleaseConflictError:
        pass
    latest = ReleaseStore(store).latest(RELEASE_NAME) or VERSION
    if latest != VERSION:
        try:
            result = publish(samples_path, latest, store, name=RELEASE_NAME, cards_dir=cards)
            rec.notes.append(f"the content matches {latest}, published by an earlier re-run")
            return result
        except ReleaseConflictError:
            pass
    major, minor, patch = (int(x) for x in parse_version(latest).split("."))
    version = f"{major}.{minor}.{patch + 1}"
    result = publish(samples_path, version, store, name=RELEASE_NAME, cards_dir=cards)
    rec.notes.append(f"the samples differ from {latest} already in this workspace (the code or inputs changed "
                     f"since), and releases are immutable: published {version} instead; `mmra diff "
                     f"{store / RELEASE_NAME}@{latest} {store / RELEASE_NAME}@{version}` shows what changed")
    return result


def step_evaluate(st: DemoState, release_dir: Path) -> dict[str, Any]:
    """Runs live in eval/<release version>/ (the eval runner refuses to mix predictions of two datasets)."""
    from mmra.eval import evaluate, summarise_runs, write_report
    from mmra.llm.client import LOCAL_ENDPOINT

    settings = ["QO", "DQ"] + (["IQ"] if st.opts.model else [])
    rec = st.step(f"Evaluate ({', '.join(settings)}) and score")
    t0 = time.monotonic()
    runs = []
    runs_dir = st.ws / "eval" / release_dir.name
    for setting in ("QO", "DQ"):
        out = runs_dir / f"{st.opts.llm}-{setting}"
        res = evaluate(str(release_dir), model=st.opts.llm, out=out, backend="openai", setting=setting,
                       batch_size=8, limit=st.opts.eval_limit, image_roots=image_roots(st.ws),
                       backend_options={"base_url": st.llm_url, "cache": llm_cache(st.ws),
                                        "endpoint_id": LOCAL_ENDPOINT})
        runs.append(res.run)  # scored from its typed items by evaluate: no prediction file is parsed again
        rec.artefacts[f"predictions {setting}"] = str(res.predictions)
    if st.opts.model:
        out = runs_dir / f"{_slug(st.opts.model)}-IQ"
        res = evaluate(str(release_dir), model=st.opts.model, out=out, backend="hf", setting="IQ",
                       batch_size=st.opts.batch_size, limit=st.opts.eval_limit, image_roots=image_roots(st.ws))
        runs.append(res.run)
        rec.artefacts["predictions IQ"] = str(res.predictions)
    scores, scored = summarise_runs(runs)
    write_report(scores, scored, runs_dir / "scores")
    rec.seconds = time.monotonic() - t0
    rec.artefacts["scores"] = str(runs_dir / "scores" / "scores.json")
    rec.artefacts["score tables"] = str(runs_dir / "scores" / "scores.txt")
    rec.artefacts["score plot"] = str(runs_dir / "scores" / "scores.png")
    for run in scores.get("runs", []):
        rec.notes.append(f"{run['label']}: {100 * run['overall']:.1f}% of {run['n']} (95% CI "
                         f"{100 * run['ci95'][0]:.0f}-{100 * run['ci95'][1]:.0f})")
    st.scores = scores
    return scores


def score_table(scores: dict[str, Any]) -> Table:
    """The paper-style table, narrow enough for an 80-column terminal (accuracy in %)."""
    from rich import box

    columns = scores.get("columns") or []
    models = ", ".join(dict.fromkeys(f"{r.get('setting')}: {r.get('model')}" for r in scores.get("runs", [])))
    table = Table(title=f"Accuracy (%) per subtask ({models})", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0),
                  pad_edge=False)
    table.add_column("run", no_wrap=True)
    table.add_column("n", justify="right")
    table.add_column("all", justify="right")
    for col in columns:
        table.add_column(col, justify="right")
    for run in scores.get("runs", []):
        cells = []
        for col in columns:
            sub = run.get("subtasks", {}).get(col)
            cells.append("-" if not sub or sub.get("accuracy") is None else f"{100 * sub['accuracy']:.0f}")
        table.add_row(str(run.get("setting") or run["label"]), str(run["n"]), f"{100 * run['overall']:.1f}", *cells)
    return table


def blind_table(before: dict[str, Any], after: dict[str, Any], scores: dict[str, Any] | None) -> Table:
    """Blind accuracy (%) per subtask before (the annotated set, leakage report) and after (the release's
    default config, its validity report), with chance and the release's QO accuracy."""
    from rich import box

    def acc(row: dict[str, Any] | None, probe: str) -> str:
        value = ((row or {}).get("probes") or {}).get(probe, {}).get("accuracy")
        return "-" if value is None else f"{100 * value:.0f}"

    def llm_acc(row: dict[str, Any] | None) -> str:
        # the exact `mmra eval --setting QO` request (one option order), else the mean over the rotations
        for model in ((row or {}).get("models") or {}).values():
            value = ((model.get("probes") or {}).get("eval-default") or {}).get("accuracy", model.get("qo_accuracy"))
            if isinstance(value, int | float):
                return f"{100 * value:.0f}"
        return "-"

    qo = next((r for r in (scores or {}).get("runs", []) if r.get("setting") == "QO"), None)
    after_rows = (after.get("blind") or {}).get("subtasks") or {}
    table = Table(title="Blind accuracy (%) without the images: before (annotated) -> after (' = release)",
                  box=box.SIMPLE_HEAD,
                  padding=(0, 1, 0, 0), pad_edge=False)
    for col in ("subtask", "n", "chance", "LLM", "prior", "learned", "n'", "chance'", "prior'", "learned'", "QO'"):
        table.add_column(col, justify="left" if col == "subtask" else "right")
    names = sorted(set(before.get("subtasks") or {}) | set(after_rows))
    rows = [(_abbrev(name), (before.get("subtasks") or {}).get(name), after_rows.get(name)) for name in names]
    rows.append(("overall", before.get("totals"), (after.get("blind") or {}).get("overall")))
    for name, b, a in rows:
        q = None
        if qo is not None:
            q = qo.get("overall") if name == "overall" else next(
                (v.get("accuracy") for k, v in (qo.get("subtasks") or {}).items() if k == name), None)
        table.add_row(name, str((b or {}).get("n", "-")), _pct((b or {}).get("chance")), llm_acc(b),
                      acc(b, "answer_prior"), acc(b, "learned"), str((a or {}).get("n", "-")),
                      _pct((a or {}).get("chance")), acc(a, "answer_prior"), acc(a, "learned"), _pct(q))
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}"


def _abbrev(subtask: str) -> str:
    from mmra.benchmark.registry import get_subtask

    try:
        return get_subtask(subtask).abbreviation
    except KeyError:
        return subtask


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "-" for c in text).strip("-")[:60]


# ----------------------------------------------------------------------------------------------- main


def stop_started(st: DemoState) -> list[str]:
    from mmra.annotation import stop
    from mmra.llm.server import LocalServers, stop_server_for

    servers = LocalServers.from_config(st.opts.config)
    stopped = []
    if st.llm_start is not None:  # a background start still under way: let it finish, so its server is stopped
        import contextlib

        with contextlib.suppress(Exception):
            st.llm_start.result()
    for name in st.started_servers:
        if name == "label-studio" and st.ls_cfg is not None:
            if st.opts.keep_serving:
                continue
            stop(st.ls_cfg)
            stopped.append(name)
        elif name.startswith("llm:"):
            stop_server_for(name[4:], servers)
            stopped.append(name)
    return stopped


def print_summary(st: DemoState, stopped: list[str]) -> None:
    out = literal_console()
    table = Table(title=f"mmra demo: done in {time.monotonic() - st.started_at:.0f} s")
    table.add_column("step", ratio=2)
    table.add_column("s", justify="right")
    table.add_column("what it did", ratio=3)
    for i, rec in enumerate(st.steps, 1):
        table.add_row(f"{i}. {rec.name}", f"{rec.seconds:.0f}", "\n".join(rec.notes))
    out.print(table)
    if st.scores:
        out.print(score_table(st.scores))
        out.print("QO = question only, DQ = the generator's captions as image descriptions + question"
                  + (", IQ = images + question" if st.opts.model else "") + ".")
    if st.blind_before and st.blind_after:
        out.print(blind_table(st.blind_before, st.blind_after, st.scores))
        out.print("Before: the annotated samples as the scripted annotators wrote them; after: the release's default "
                  "config (flagged samples out, answer key balanced). Blind probes are k-fold, out of fold; QO is "
                  "the local LLM's question-only evaluation of the release.")
    out.print(Text.assemble(("Artefacts", "bold"), f" (workspace {st.ws}):"))
    for i, rec in enumerate(st.steps, 1):
        for name, path in rec.artefacts.items():
            out.print(f"  {i}. {name}: {path}", soft_wrap=True)
    cfg = st.ls_cfg
    if cfg is not None:
        from mmra.annotation.server import CREDENTIALS_FILE

        creds = Path(cfg.data_dir) / CREDENTIALS_FILE
        if st.opts.keep_serving or "label-studio" not in stopped:
            how = f"Label Studio is still running: open {st.ls_url} in a browser"
        else:
            how = (f"Label Studio was stopped. To look at the tasks: `MMRA_CONFIG={st.ws / 'mmra.toml'} mmra annotate "
                   f"serve`, then open http://127.0.0.1:{cfg.port}")
        out.print(Text.assemble(f"{how} and sign in as ", (cfg.username, "bold"), f" with the password in {creds} "
                  f"(or $LABEL_STUDIO_PASSWORD if you set it). Project: {PROJECT!r}. The two annotator accounts "
                  f"({', '.join(ANNOTATORS)}) are scripted; their passwords are in "
                  f"{Path(cfg.data_dir) / '.mmra-demo-annotators.json'}. Stop it with "
                  f"`MMRA_CONFIG={st.ws / 'mmra.toml'} mmra annotate serve --stop`."))
    if stopped:
        out.print(f"Stopped the servers this run started: {', '.join(stopped)}.")
    summary = {"workspace": str(st.ws), "seconds": round(time.monotonic() - st.started_at, 1),
               "steps": [{"name": r.name, "seconds": round(r.seconds, 1), "artefacts": r.artefacts, "notes": r.notes}
                         for r in st.steps],
               "scores": {"overall": (st.scores or {}).get("overall")} if st.scores else None,
               "blind": {"before": (st.blind_before or {}).get("totals"),
                         "after": ((st.blind_after or {}).get("blind") or {}).get("overall"),
                         "flagged_after": (st.blind_after or {}).get("flagged")}}
    (st.ws / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    out.print(f"Summary written to {st.ws / 'summary.json'}.")


def run_demo(opts: DemoOptions) -> DemoState:
    ws = Path(opts.workspace).resolve()
    prepare_workspace(ws, opts.fresh, {"per_subtask": opts.per_subtask, "llm": opts.llm})
    st = DemoState(opts, ws)
    stopped: list[str] = []
    try:
        manifest = step_generate(st)
        candidates = step_curate(st, manifest)
        start_llm_server_early(st)
        samples = step_annotate(st, candidates, manifest)
        described = add_descriptions(samples, manifest, st.path("annotation", "samples.described.jsonl"))
        checked = step_leakage(st, described)
        st.blind_before = checked.report
        final = st.ws / "leakage" / "samples.jsonl"
        # revise what the panel flags, re-check the whole set (the learned probe is refitted, so it may flag
        # a sample it passed before); every sample is revised at most once, so this ends
        for _ in range(MAX_REVISION_ROUNDS):
            revised = step_revise(st, checked.flagged, manifest)
            if revised is None:
                break
            checked = step_leakage(st, revised, "leakage-recheck", "Re-check the revised set (the same probe panel)")
            final = st.ws / "leakage-recheck" / "samples.jsonl"
        release = step_publish(st, final)
        step_evaluate(st, Path(release.path))
    finally:
        stopped = stop_started(st)
    print_summary(st, stopped)
    return st
