"""`mmra annotate ...`: serve a local Label Studio, push candidates, pull Samples, send flagged ones back."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from mmra.errors import MMRAError, cli_errors
from mmra.output import labelled, literal_console

annotate_app = typer.Typer(help="Annotation with a real Label Studio server (serve, push, check, status, pull, revise).",
                           no_args_is_help=True)
_out = literal_console()
_err = literal_console(stderr=True)


def _config():
    from mmra.config import cli_config

    return cli_config()


@annotate_app.command("serve")
@cli_errors
def serve_cmd(
    port: int = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: \\[label_studio].port)."),
    stop: bool = typer.Option(False, "--stop", help="Stop the server this toolkit started."),
    timeout: float = typer.Option(240.0, "--timeout", help="Seconds to wait for the server to become healthy."),
) -> None:
    """Start the local Label Studio (offline, 127.0.0.1, data in the workspace), or stop it with --stop."""
    from . import server

    config = _config()
    cfg = config.label_studio
    if stop:
        was = server.stop(cfg)
        _out.print("Label Studio stopped" if was else "no Label Studio started by this toolkit was running")
        return
    template = server.template_dir_for(Path(config.paths.cache), Path(cfg.venv))
    state, conn = server.start(cfg, port=port, timeout=timeout, template_dir=template)
    _out.print(Text.assemble("Label Studio serves at ", (conn.url, "bold"), f" (pid {state.pid}, data in {conn.data_dir}); "
               f"sign in as {cfg.username}. Token and password: $LABEL_STUDIO_API_KEY / $LABEL_STUDIO_PASSWORD, "
               f"else {conn.data_dir / server.CREDENTIALS_FILE} (private). Signup is closed: add annotators with "
               f"`mmra annotate users add EMAIL [--reviewer]`. Stop: `mmra annotate serve --stop`."))


def _fmt(value, pattern: str = "{}") -> str:
    return "-" if value is None else pattern.format(value)


@annotate_app.command("status")
@cli_errors
def status_cmd(
    project: str = typer.Option(None, "--project", "-p", help="Also report this project: per annotator and per subtask."),
    as_json: bool = typer.Option(False, "--json", help="Print the project's figures as JSON (nothing else)."),
) -> None:
    """Is the server up, and how far is a project's annotation (per annotator, per subtask)?"""
    import json

    from .project import Project
    from .server import connection
    from .status import project_status

    cfg = _config()
    if as_json and not project:
        raise MMRAError("--json needs --project")
    conn = connection(cfg)
    if not as_json:
        _out.print(f"Label Studio at {conn.url}: up")
    if not project:
        return
    figures = project_status(conn, project, reviewers=cfg.label_studio.reviewers)
    if as_json:
        typer.echo(json.dumps(figures, indent=1))
        return
    proj = Project.open(conn, project)
    try:
        tasks = proj.tasks()
    finally:
        proj.close()
    done = sum(1 for t in tasks if t.total_annotations > 0)
    total = sum(t.total_annotations for t in tasks)
    _out.print(f"project {project!r} (id {proj.id}): {len(tasks)} tasks, {done} with annotations, "
               f"{total} annotations")
    people = Table(title=f"annotators in {project!r}")
    for col in ("annotator", "tasks done", "median s/task", "agreement", "flagged by probes", "rejects"):
        people.add_column(col)
    for email, row in figures["annotators"].items():
        share = f" ({row['flagged_share']:.0%})" if row["flagged_share"] is not None else ""
        people.add_row(email, str(row["tasks_done"]), _fmt(row["median_seconds"], "{:.1f}"),
                       _fmt(row["agreement"], "{:.0%}") + (f" of {row['settled']}" if row["settled"] else ""),
                       f"{row['flagged']} of {row['questions']}{share}", str(row["rejects"]))
    _out.print(people)
    subtasks = Table(title=f"subtasks in {project!r} ({figures['annotators_per_task']} annotators per task)")
    for col in ("subtask", "done / target", "tasks complete", "Yes share", "letters A/B/C/D"):
        subtasks.add_column(col)
    for name, row in figures["subtasks"].items():
        yes = _fmt(row["yes_share"], "{:.0%}") + (f" of {row['yes_no_answers']}" if row["yes_no_answers"] else "")
        subtasks.add_row(name, f"{row['annotations']} / {row['target']}", f"{row['complete']} of {row['tasks']}",
                         yes, "/".join(str(v) for v in row["letters"].values()))
    _out.print(subtasks)


def _drafter(model: str, llm_url: str | None, flag: str = "--draft-model"):
    """A checked ChatClient for `model`: NAME@URL[#ENVVAR], NAME with --llm-url, or an embedded local model
    (started on loopback if needed and left running for the next push)."""
    from mmra.llm.endpoints import open_client, parse_model_spec
    from mmra.llm.server import LocalServers

    cfg = _config()
    spec = model.strip()
    if llm_url and "@" not in spec:
        spec = f"{spec}@{llm_url}"
    client, _ = open_client(parse_model_spec(spec, flag), llm=cfg.llm, cache_path=Path(cfg.paths.cache) / "llm.sqlite",
                            servers=LocalServers.from_config(cfg), start_local=True)
    return client


def _probe_options(probe_with: Path | None, embedder: str):
    """Already-pulled samples (more text for the learned probe) and the blind probes' settings."""
    from mmra.benchmark.leakage.blind import BlindSettings
    from mmra.benchmark.records import read_jsonl
    from mmra.benchmark.schema import Sample

    reference = []
    if probe_with is not None:
        if not probe_with.is_file():
            raise FileNotFoundError(f"samples file {probe_with} (--probe-with) does not exist")
        errors: list[str] = []
        reference = read_jsonl(probe_with, Sample, errors=errors)
        for problem in errors:
            _err.print(labelled("skipped:", "yellow", problem), highlight=False)
    return reference, BlindSettings(embedder=None if embedder.lower() == "none" else embedder)


def allowed_roots(source: Path, flags: list[Path], cfg) -> tuple[Path, ...]:
    """Folders push and revise may take images from: `--image-root`, `[paths].image_roots` and the corpus
    folders `mmra curate` recorded in the report beside the file; the file's own folder only when none of
    these names a folder (`mmra.benchmark.images.allowed_roots`, the rule publish and eval use too)."""
    from mmra.benchmark.images import allowed_roots as rule

    return rule(source, flags=flags, configured=cfg.paths.image_roots)


@annotate_app.command("push")
@cli_errors
def push_cmd(
    candidates: Path = typer.Option(..., "--candidates", "-c", help="candidates.jsonl from `mmra curate`."),
    project: str = typer.Option(..., "--project", "-p", help="Label Studio project name (created if missing)."),
    annotators: int = typer.Option(None, "--annotators", help="Annotations per task (default: config)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Tasks per import request (default: config)."),
    draft_model: str = typer.Option(None, "--draft-model",
                                    help="Pre-annotate with this LLM (a local model name, or any model at --llm-url)."),
    llm_url: str = typer.Option(None, "--llm-url", help="OpenAI-compatible base URL for --draft-model (URL#ENVVAR: its key is in $ENVVAR)."),
    image_root: list[Path] = typer.Option([], "--image-root", help="A folder images may lie in (default: the corpus folders recorded in the curation_report.json beside the candidates, \\[paths].image_roots, else the candidates file's folder); repeat for more."),
    draft_vision: bool = typer.Option(False, "--draft-vision", help="Send both images to --draft-model (a vision model); an endpoint that refuses images gets the text request instead."),
    probe_model: str = typer.Option(None, "--probe-model", help="A text-only model for the question-only probe of the drafts (NAME@URL\\[#ENVVAR] or a local name; default: the draft model when it drafts from text; 'none': no LLM probe)."),
    probe_with: Path = typer.Option(None, "--probe-with", help="Already-pulled samples JSONL: more text for the learned probe that checks the drafts."),
    embedder: str = typer.Option("auto", "--embedder", help="Sentence embeddings of the learned probe: auto, a local folder, or none."),
) -> None:
    """Create/update a project and push candidates as tasks (idempotent; safe to re-run after a failure).
    Every image must be a real image file inside the allowed folders; other candidates are refused. Entity
    boxes are drawn on the images; with --draft-model every task opens on a draft that the blind probes have
    checked (the task says whether a text-only model answers it without the images)."""
    from .push_stage import DraftOptions, PushOptions, check_candidates_file, push_stage
    from .server import connection

    cfg = _config()
    ls_cfg = cfg.label_studio
    check_candidates_file(candidates)
    conn = connection(cfg)  # before any model work: no server, one line
    if draft_vision and not draft_model:
        raise MMRAError("--draft-vision needs --draft-model NAME@URL (a vision model)")
    drafts = None
    if draft_model:  # the clients are built here, at the edge, from the config
        reference, blind = _probe_options(probe_with, embedder)
        client = _drafter(draft_model, llm_url)
        text_models = None
        if probe_model and probe_model.lower() != "none":
            probe_client = _drafter(probe_model, None, "--probe-model")
            text_models = {probe_client.model: probe_client}
        elif probe_model is None and not draft_vision:
            text_models = {client.model: client}  # the text-only draft model, now asked without the evidence
        drafts = DraftOptions(client=client, vision=draft_vision, text_models=text_models, reference=reference,
                              blind=blind)
    opts = PushOptions(candidates=candidates, project=project, roots=allowed_roots(candidates, image_root, cfg),
                       annotators_per_task=annotators or ls_cfg.annotators_per_task,
                       batch_size=batch_size or ls_cfg.import_batch_size, drafts=drafts)
    stage = push_stage(conn, opts, say=lambda line: _out.print(line, highlight=False),
                       warn=lambda label, line: _err.print(labelled(label, "yellow", line), highlight=False))
    report, errors = stage.report, stage.read_errors
    for cid, reason in report.skipped:
        _err.print(labelled("refused", "yellow", f"candidate {cid}: {reason}"), highlight=False)
    for warning in report.warnings:
        _err.print(labelled("warning:", "yellow", warning), highlight=False)
    _out.print(f"project {project!r} (id {report.project_id}): {report.created} new, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.duplicates_removed} duplicates removed, "
               f"{report.predictions_added} drafts added; {len(report.skipped) + len(errors)} skipped")
    if report.skipped or errors:
        raise typer.Exit(1)


@annotate_app.command("check")
@cli_errors
def check_cmd(
    project: str = typer.Option(..., "--project", "-p", help="Label Studio project name."),
    probe_with: Path = typer.Option(None, "--probe-with", help="Already-pulled samples JSONL: more text for the learned probe."),
    probe_model: str = typer.Option(None, "--probe-model", help="A text-only model for the question-only probe (NAME@URL\\[#ENVVAR] or a local model name)."),
    embedder: str = typer.Option("auto", "--embedder", help="Sentence embeddings of the learned probe: auto, a local folder, or none."),
    min_learned: int = typer.Option(None, "--min-learned", min=2, help="Questions the learned probe needs before it runs (default 20)."),
    as_json: bool = typer.Option(False, "--json", help="Print the check report as JSON (nothing else)."),
) -> None:
    """Before pull: probe every submitted question and send the leaky ones back to their authors as
    revision tasks; reports per annotator."""
    import json

    from .check import MIN_LEARNED, check_project
    from .server import connection

    cfg = _config()
    reference, blind = _probe_options(probe_with, embedder)
    text_models = None
    if probe_model:
        client = _drafter(probe_model, None, "--probe-model")
        text_models = {client.model: client}
    report = check_project(connection(cfg), project, reference=reference, blind=blind, text_models=text_models,
                           min_learned=min_learned or MIN_LEARNED, reviewers=cfg.label_studio.reviewers,
                           batch_size=cfg.label_studio.import_batch_size, show_progress=not as_json)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=1))
        return
    table = Table(title=f"check before pull in {project!r}")
    for col in ("annotator", "questions probed", "flagged", "sent back (new)"):
        table.add_column(col)
    for email, row in report.annotators.items():
        table.add_row(email, str(row["probed"]), str(row["flagged"]), str(row["sent"]))
    _out.print(table)
    for item in report.flagged_items:
        _err.print(labelled("leaky", "yellow", f"{item['task']} by {item['annotator']}: {'; '.join(item['reasons'])}"
                                               f" -> revision task {item['revision_task']}"), highlight=False)
    _out.print(f"{report.flagged} of {report.probed} submitted questions flagged, {report.sent} new revision tasks "
               f"({report.waiting} from earlier checks not yet revised); checked with: "
               f"{'; '.join(report.checked) or 'nothing'}" + (f"; not run: {'; '.join(report.skipped)}"
                                                              if report.skipped else ""), highlight=False)


@annotate_app.command("pull")
@cli_errors
def pull_cmd(
    project: str = typer.Option(..., "--project", "-p", help="Label Studio project name."),
    out: Path = typer.Option(..., "--out", "-o", help="Samples JSONL to write (the report goes next to it)."),
    min_annotations: int = typer.Option(None, "--min-annotations",
                                        help="Annotations a task needs before it counts (default: config)."),
) -> None:
    """Export annotations, validate, adjudicate, compute agreement; write Samples and a report."""
    from .pull_samples import plot_agreement, pull, report_path
    from .server import connection

    cfg = _config()
    report = pull(connection(cfg), project, out, min_annotations=min_annotations or cfg.label_studio.annotators_per_task,
                  reviewers=cfg.label_studio.reviewers)
    table = Table(title=f"agreement in {project!r}")
    for col in ("subtask", "tasks", "samples", "rejected", "review", "pending", "invalid", "kappa", "answer agr."):
        table.add_column(col)
    for subtask, row in report.agreement.items():
        kappa = "-" if row["keep_reject_kappa"] is None else f"{row['keep_reject_kappa']:.2f} ({row['kappa_method']})"
        agr = "-" if row["answer_agreement"] is None else f"{row['answer_agreement']:.2f}"
        table.add_row(subtask, *(str(row[k]) for k in ("tasks", "samples", "rejected", "review", "pending", "invalid")),
                      kappa, agr)
    _out.print(table)
    plot = plot_agreement(report, out.with_name(out.name.removesuffix(".jsonl") + ".agreement.png"))
    if plot:
        _out.print(f"agreement plot: {plot}")
    for item in report.invalid:
        _err.print(labelled("invalid", "yellow", f"{item['task']} ({item.get('annotator') or 'task'}): {item['reason']}"),
                   highlight=False)
    for item in report.authorship:  # account names and links are data: shown literally
        what = (f"{item['task']} (annotation {item['annotation_id']} credited to {item['account']}, written by "
                f"{item['written_by'] or 'no recorded account'}): {item['reason']}")
        _err.print(labelled("not used", "red", what), highlight=False)
    for item in report.unknown_accounts:
        _err.print(labelled("not used", "red", f"{item['task']} ({item['account']}): {item['reason']}"), highlight=False)
    for item in report.ground_truth_ignored:
        _err.print(labelled("ground truth ignored", "yellow", f"{item['task']} ({item['account']}): {item['reason']}"),
                   highlight=False)
    _out.print(f"{report.samples} samples -> {out}; {len(report.invalid)} invalid annotations, "
               f"{len(report.rejected)} rejected, {len(report.needs_review)} need review, {len(report.pending)} "
               f"pending; details in {report_path(out)}")


@annotate_app.command("revise")
@cli_errors
def revise_cmd(
    flagged: Path = typer.Option(..., "--flagged", "-f", help="Samples JSONL with `leakage` set (leakage filter output)."),
    project: str = typer.Option(..., "--project", "-p", help="Label Studio project to send revision tasks to."),
    image_root: list[Path] = typer.Option([], "--image-root", help="A folder the samples' images may lie in (besides \\[paths].image_roots, the folders recorded beside the file by the stage that wrote it, the folders push allowed and the media folder; the file's folder only when no flag, config or record names a folder); repeat for more."),
) -> None:
    """Send leakage-flagged samples back to annotators, showing what the text-only models answered."""
    from mmra.benchmark.records import read_jsonl
    from mmra.benchmark.schema import Sample

    from .revise_tasks import revise
    from .server import connection

    if not flagged.exists():
        raise FileNotFoundError(f"flagged samples file {flagged} does not exist")
    cfg = _config()
    samples = read_jsonl(flagged, Sample)
    # the same folders push allows (never the flagged file's folder when folders are configured); revise adds
    # the folders push recorded and the media folder
    report = revise(connection(cfg), samples, project, batch_size=cfg.label_studio.import_batch_size,
                    base_dir=flagged.resolve().parent, roots=allowed_roots(flagged, image_root, cfg))
    for sid, reason in report.refused:
        _err.print(labelled("refused", "yellow", f"{sid}: {reason}"), highlight=False)
    created = report.push.created if report.push else 0
    unflagged = f"; {report.not_flagged} sample(s) not flagged, left as they are" if report.not_flagged else ""
    _out.print(f"{report.sent} revision tasks in {project!r} ({created} new){unflagged}; annotate them, then "
               f"`mmra annotate pull` brings back the rewritten versions", highlight=False)
    if report.refused:
        raise MMRAError(f"{len(report.refused)} flagged sample(s) refused (listed above): their images may not "
                        "be used, so no revision task was sent for them")
    if report.sent == 0 and samples:
        raise MMRAError("none of the samples in the file is flagged by the leakage filter")


users_app = typer.Typer(help="Annotator accounts: signup on the server is closed, the toolkit creates them.",
                        no_args_is_help=True)
annotate_app.add_typer(users_app, name="users")


def _credentials_file(data_dir: Path, email: str) -> Path:
    return Path(data_dir).resolve() / "annotators" / f"{email}.txt"


@users_app.command("add")
@cli_errors
def users_add_cmd(
    email: str = typer.Argument(..., help="The annotator's e-mail (their Label Studio login)."),
    reviewer: bool = typer.Option(False, "--reviewer", help="May mark ground truth that settles a task on pull."),
    show_password: bool = typer.Option(False, "--show-password",
                                       help="Print the password once instead of writing it to a private file."),
) -> None:
    """Create an annotator account with a generated password (or mark an existing one --reviewer)."""
    import os
    import secrets

    from .server import connection
    from .users import AccountRegistry, create_annotator, set_reviewer

    cfg = _config()
    conn = connection(cfg)
    if "@" not in email or email.strip() != email or len(email) > 254:
        raise MMRAError(f"{email!r} is not an e-mail address")
    if AccountRegistry.of(conn).get(email) is not None:
        if not reviewer:
            raise MMRAError(f"{email} already has an account made by the toolkit (`mmra annotate users list`)")
        set_reviewer(conn, email)
        _out.print(f"{email} is now a reviewer", highlight=False)
        return
    password = secrets.token_urlsafe(18)
    create_annotator(conn, email, password, reviewer=reviewer)
    role = "reviewer" if reviewer else "annotator"
    if show_password:
        _out.print(f"created {role} {email}; sign in at {conn.url} with this password (shown once):", highlight=False)
        typer.echo(password)
        return
    path = _credentials_file(cfg.label_studio.data_dir, email)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"Label Studio: {conn.url}\nlogin: {email}\npassword: {password}\n")
    _out.print(f"created {role} {email}; login and password in {path} (mode 0600): hand it over privately, "
               "then delete it", highlight=False)


@users_app.command("list")
@cli_errors
def users_list_cmd() -> None:
    """Accounts on the server: who the toolkit created, who reviews, and any account it did not create."""
    from .server import connection
    from .users import AccountRegistry, server_accounts, whoami

    cfg = _config()
    conn = connection(cfg)
    registry, admin = AccountRegistry.of(conn), whoami(conn)
    extra = {r.lower() for r in cfg.label_studio.reviewers}
    table = Table(title=f"Label Studio accounts at {conn.url}")
    for col in ("e-mail", "id", "role", "created by the toolkit"):
        table.add_column(col)
    strangers = []
    for account in sorted(server_accounts(conn), key=lambda a: a.id):
        known = registry.knows(account.id, account.email)
        if account.id == admin.id:
            role, made = "admin (reviewer)", "yes (serve)"
        elif known:
            mine = registry.get(account.email)
            role = "reviewer" if (mine and mine.reviewer) or account.email.lower() in extra else "annotator"
            made = f"yes ({mine.created})" if mine and mine.created else "yes"
        else:
            role, made = "-", Text("NO: its annotations are not used", style="red")
            strangers.append(account)
        table.add_row(account.email, str(account.id), role, made)
    _out.print(table)
    for account in strangers:
        _err.print(labelled("account not created by the toolkit:", "red", f"{account.email} (id {account.id}); its "
                            "annotations are not used; delete it in Label Studio unless you trust it"), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(annotate_app, name="annotate")
