"""Issue 15, the annotator's side, against the real Label Studio server: entity boxes drawn on both images,
vision drafts (a loopback vision endpoint), drafts checked by the blind probes before anyone sees them,
`annotate check` before pull, and `annotate status` per annotator."""

from __future__ import annotations

import base64
import io
import json
import random
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mmra.annotation import Draft, QAContent, push
from mmra.annotation.project import Project
from mmra.benchmark.leakage.blind import BlindSettings
from mmra.benchmark.records import read_jsonl
from mmra.benchmark.schema import LETTERS, Box, ImageRef, Sample
from tests.llm.servers import local_llm  # noqa: F401  (session fixture: the real local LLM server)

from .conftest import TEST_CREDS

pytestmark = pytest.mark.labelstudio


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed: run `make setup-system` (Debian package `chromium`)")
    return path


def _open_task(ls, project_id: int, task_id: int, screenshot):
    """Sign in as the admin, open the task in the labeling UI, wait for both images; returns what the page
    shows: body text, textarea values, and the entity regions Label Studio created."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1900})
            page.goto(f"{ls.url}/user/login/")
            page.fill("input[name=email]", TEST_CREDS.username)
            page.fill("input[name=password]", TEST_CREDS.password)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url, timeout=30_000)
            page.goto(f"{ls.url}/projects/{project_id}/data?tab=0&task={task_id}")
            page.get_by_text("Image 2", exact=True).first.wait_for(timeout=60_000)
            page.wait_for_function(
                """() => { const imgs = [...document.querySelectorAll('img')]
                       .filter(i => i.src.includes('/data/local-files/'));
                       return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
                timeout=60_000)
            page.wait_for_timeout(1500)  # the canvas layers draw after the images decode
            page.screenshot(path=str(screenshot), full_page=True)
            shown = {
                "body": page.inner_text("body"),
                "textareas": page.eval_on_selector_all("textarea", "els => els.map(e => e.value)"),
                # the regions of the open annotation, as the labeling UI's own store holds them
                "regions": page.evaluate("""() => window.Htx.annotationStore.selected.regions.map(r => ({
                    image: r.object.name, labels: r.labeling ? r.labeling.selectedLabels.map(l => l.value) : [],
                    readonly: r.isReadOnly(), x: r.x, width: r.width}))"""),
                # the rectangles the canvas library drew (Konva shapes on the image stages)
                "rects": page.evaluate("""() => window.Konva.stages.map(s => s.find('Rect').filter(
                    r => r.visible() && r.width() > 1 && r.height() > 1).length)"""),
                "zoom": page.locator("[aria-label*='oom' i], [title*='oom' i]").count(),
            }
        finally:
            browser.close()
    return shown


def test_task_opens_with_entity_boxes_on_both_images_and_the_draft_check(ls, project_name, make_candidate,
                                                                        artifacts_dir):
    """An entity-level candidate with boxes (one reaching past its image, one wholly outside) and a leaky
    draft: the task opens with a read-only box on each image, zoom on, the draft pre-filled, and the warning
    that a text-only model answers the draft without the images."""
    from mmra.annotation.check import LEAKY_DRAFT, check_drafts

    cand = make_candidate("SimilarMaterial")
    cand = cand.model_copy(update={"evidence": cand.evidence.model_copy(update={
        "entities": {"image1": ["tray"], "image2": ["basket"]}, "boxes": [
            Box(label="tray", bbox=(4, 6, 30, 24), image=1),
            Box(label="basket", bbox=(40, 30, 60, 50), image=2),  # reaches past the 80x64 image: clipped
            Box(label="ghost", bbox=(500, 500, 10, 10), image=2),  # wholly outside: dropped with a note
        ]})})
    drafts = {cand.id: Draft(LEAKY, "draft:t")}
    check_drafts([cand], drafts, leaky_reference(), blind=BLIND)
    report = push(ls, [cand], project_name, drafts=drafts, show_progress=False)
    assert report.created == 1 and not report.skipped
    assert any("'basket'" in w and "clipped" in w for w in report.warnings), report.warnings
    assert any("'ghost'" in w and "dropped" in w for w in report.warnings), report.warnings
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[cand.id][0]
    preds = list(project.client.predictions.list(task=task.id))
    project.close()
    assert len(preds) == 1
    boxes = [r for r in preds[0].result if r["type"] == "rectanglelabels"]
    assert sorted((r["to_name"], r["value"]["rectanglelabels"][0]) for r in boxes) == [
        ("image1", "tray"), ("image2", "basket")]
    clipped = next(r for r in boxes if r["to_name"] == "image2")["value"]
    assert clipped["x"] == pytest.approx(50.0) and clipped["width"] == pytest.approx(50.0)  # 40..80 of 80 px
    assert clipped["y"] == pytest.approx(100 * 30 / 64) and clipped["height"] == pytest.approx(100 * 34 / 64)
    assert QAContent.from_result(preds[0].result) == LEAKY  # the boxes are no part of the answer

    shown = _open_task(ls, project.id, task.id, artifacts_dir / "annotation_task_entities.png")
    drawn = sorted((r["image"], r["labels"], r["readonly"]) for r in shown["regions"] if r["image"] != "subtask_info")
    assert drawn == [("image1", ["tray"], True), ("image2", ["basket"], True)]  # on both images, read-only
    assert shown["rects"] == [1, 1]  # one rectangle drawn on each image's canvas
    assert LEAKY.question in shown["body"] + "\n".join(shown["textareas"])  # the draft is pre-filled
    assert LEAKY_DRAFT in shown["body"] and "picks the right answer B (bamboo)" in shown["body"]
    assert shown["zoom"] >= 2  # the zoom controls of both images


def test_boxes_outside_the_image_never_stop_a_push(ls, project_name, make_candidate):
    from mmra.annotation.labeling import entity_regions

    regions, labels, notes = entity_regions(
        [Box(label="nan", bbox=(float("nan"), 0, 5, 5), image=1), Box(label="flat", bbox=(1, 1, 0, 9), image=1),
         Box(label="  ", bbox=(-10, -10, 20, 20), image=2), Box(label="far", bbox=(-90, 2, 10, 10), image=2)],
        {1: (80, 64), 2: (80, 64)})
    assert [r["value"]["rectanglelabels"] for r in regions] == [["entity"]]  # an unnamed box: "entity"
    assert regions[0]["value"]["x"] == 0 and regions[0]["value"]["width"] == pytest.approx(100 * 10 / 80)
    assert labels == {1: [], 2: ["entity"]} and len(notes) == 4
    assert "not a finite box; dropped" in notes[0] and "must be positive; dropped" in notes[1]
    assert "clipped" in notes[2] and "outside the 80x64 image; dropped" in notes[3]
    cand = make_candidate("NearSameEntity")
    cand = cand.model_copy(update={"evidence": cand.evidence.model_copy(update={"boxes": [
        Box(label="far", bbox=(1e9, 1e9, 5, 5), image=1)]})})
    report = push(ls, [cand], project_name, show_progress=False)
    assert report.created == 1 and len(report.warnings) == 1 and cand.id in report.warnings[0]
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[cand.id][0]
    assert task.total_predictions == 0 and task.data["entity_labels1"] == []  # nothing left to draw, no crash
    project.close()


# ---------------------------------------------------------------------------------------------- helpers

MATERIALS = ("wood metal glass plastic stone cloth paper leather rubber clay steel cotton wool silk bamboo "
             "ceramic").split()
NOUNS = "bench chair bottle bowl cup table lamp vase shelf stool tray spoon fork plate jar box".split()


def leaky_reference(n: int = 60, seed: int = 0) -> list[Sample]:
    """Already-pulled SimilarMaterial samples whose question always names the right material: the shortcut
    a learned text-only probe picks up."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        mats, gold = rng.sample(MATERIALS, 3), i % 3
        n1, n2 = rng.sample(NOUNS, 2)
        out.append(Sample(subtask="SimilarMaterial", qa_type="multiple_choice", options=mats, answer=LETTERS[gold],
                          question=f"Which material do the {mats[gold]} {n1} in Image 1 and the {n2} in Image 2 share?",
                          image1=ImageRef(path=f"missing:{i}a.png"), image2=ImageRef(path=f"missing:{i}b.png")))
    return out


LEAKY = QAContent("multiple_choice", "Which material do the bamboo tray in Image 1 and the basket in Image 2 share?",
                  ["steel", "bamboo", "glass"], "B")
CLEAN = QAContent("multiple_choice", "Which material do the objects in the two images share?",
                  ["steel", "bamboo", "glass"], "C")
BLIND = BlindSettings(embedder=None)  # hand features: the shortcut is in them, and no model to load


class VisionEndpoint:
    """A small OpenAI-compatible vision endpoint on loopback (a real HTTP server in a thread). It records every
    chat request, checks the key, decodes every image part, and answers with a JSON draft. With
    `refuse_images` it answers 400 to any request that carries an image, like a text-only model does."""

    KEY = "vision-endpoint-key-123"

    def __init__(self, refuse_images: bool = False) -> None:
        self.refuse_images = refuse_images
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    return self._send(200, {"object": "list", "data": [{"id": "fake-vlm", "object": "model"}]})
                return self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                endpoint.auth.append(self.headers.get("Authorization"))
                images = endpoint.images_in(body)
                if images and endpoint.refuse_images:
                    return self._send(400, {"error": {"message": "image input is not supported by this model"}})
                # a different right material (and letter) per request, as a model looking at other pairs gives
                i = len(endpoint.requests) - 1
                base = ["stone", "wood", "glass", "metal"]
                draft = {"qa_type": "multiple_choice", "options": [base[(j + 2 * i) % 4] for j in range(4)],
                         "answer": LETTERS[-i % 4],
                         "question": ("Which material do the two objects share, as seen in the photos?"
                                      if images else "Which material do both objects share?")}
                return self._send(200, {
                    "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": json.dumps(draft)}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def images_in(body: dict) -> list:
        """The decoded images of every image_url part (a part that does not decode raises)."""
        from PIL import Image

        out = []
        for message in body.get("messages", []):
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if part.get("type") == "image_url":
                    url = part["image_url"]["url"]
                    assert url.startswith("data:image/jpeg;base64,"), url[:40]
                    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
                    img.load()
                    out.append(img)
        return out

    def __enter__(self) -> VisionEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _client(url: str, monkeypatch, tmp_path):
    from mmra.llm.client import ChatClient

    monkeypatch.setenv("FAKE_VLM_KEY", VisionEndpoint.KEY)
    client = ChatClient(base_url=url, model="fake-vlm", key_env="FAKE_VLM_KEY", cache_path=tmp_path / "llm.sqlite",
                        progress=False, max_retries=1, backoff_base_s=0.01)
    client.check()
    return client


# ---------------------------------------------------------------------------------------------- drafts


def test_vision_draft_request_carries_both_images(make_candidate, monkeypatch, tmp_path):
    from mmra.annotation.preannotate import draft_images, draft_questions

    cands = [make_candidate("SimilarMaterial") for _ in range(2)]
    images, refused = draft_images(cands, base_dir=None, roots=None)
    assert not refused and set(images) == {c.id for c in cands}
    with VisionEndpoint() as endpoint:
        client = _client(endpoint.url, monkeypatch, tmp_path)
        notes: list[str] = []
        drafts, failed = draft_questions(cands, client, images=images, notes=notes)
        assert not failed and not notes
        chats = [r for r in endpoint.requests if r.get("messages")]
        assert len(chats) == 2
        for body in chats:
            decoded = VisionEndpoint.images_in(body)
            assert [img.size for img in decoded] == [(80, 64), (80, 64)]  # both images of the pair, whole
            text = json.dumps([p for m in body["messages"] for p in (m["content"] if isinstance(m["content"], list)
                                                                       else [m["content"]])])
            assert "same kind of thing as the right answer" in text and "BOTH images" in text
        assert set(endpoint.auth) == {f"Bearer {VisionEndpoint.KEY}"}  # its own key, from $FAKE_VLM_KEY
        # the two images differ, and each request carries its own pair
        first, second = (VisionEndpoint.images_in(b) for b in chats)
        assert first[0].tobytes() != first[1].tobytes() and first[0].tobytes() != second[0].tobytes()
        assert all(d.vision for d in drafts.values())
        assert drafts[cands[0].id].content.question == "Which material do the two objects share, as seen in the photos?"
        # the shared client cached the answers: drafting again sends nothing
        before = len(endpoint.requests)
        draft_questions(cands, client, images=images)
        assert len(endpoint.requests) == before and client.last_stats.cached == 2


def test_vision_endpoint_that_refuses_images_falls_back_to_text(make_candidate, monkeypatch, tmp_path):
    from mmra.annotation.preannotate import draft_images, draft_questions

    cands = [make_candidate("SimilarMaterial") for _ in range(2)]
    images, _ = draft_images(cands, base_dir=None, roots=None)
    with VisionEndpoint(refuse_images=True) as endpoint:
        notes: list[str] = []
        drafts, failed = draft_questions(cands, _client(endpoint.url, monkeypatch, tmp_path), images=images,
                                         notes=notes)
    assert not failed and set(drafts) == {c.id for c in cands}
    assert len(notes) == 1 and "refused the images" in notes[0] and "HTTP 400" in notes[0]
    assert "2 text-only draft(s) instead" in notes[0]
    assert not any(d.vision for d in drafts.values())
    assert drafts[cands[0].id].content.question == "Which material do both objects share?"  # the text request's


def test_leaky_draft_is_flagged_and_a_clean_one_is_not(make_candidate):
    from mmra.annotation.check import LEAKY_DRAFT, check_drafts

    leaky, clean = make_candidate("SimilarMaterial"), make_candidate("SimilarMaterial")
    drafts = {leaky.id: Draft(LEAKY, "draft:t"), clean.id: Draft(CLEAN, "draft:t")}
    run = check_drafts([leaky, clean], drafts, leaky_reference(), blind=BLIND)
    assert run.checked and "question-only probe: no text-only model given" in run.skipped
    assert drafts[leaky.id].check.startswith(LEAKY_DRAFT) and "bamboo" in drafts[leaky.id].check
    assert drafts[leaky.id].check_result["leaky"] is True
    assert drafts[clean.id].check.startswith("OK: no probe answered this draft")
    # alone, two drafts are too few for the learned probe: the task says what did not run instead of guessing
    alone = {leaky.id: Draft(LEAKY, "draft:t")}
    run = check_drafts([leaky], alone, [], blind=BLIND)
    assert not run.checked and "needs at least 20" in alone[leaky.id].check
    assert alone[leaky.id].check.startswith("Not checked")


@pytest.mark.llm
@pytest.mark.slow
def test_text_draft_and_question_only_probe_with_the_local_llm(local_llm, make_candidate):  # noqa: F811
    from mmra.annotation.check import check_drafts
    from mmra.annotation.preannotate import draft_questions
    from mmra.llm.client import ChatClient

    url = local_llm("smollm2-135m")
    client = ChatClient(base_url=url, model="smollm2-135m", cache_path=None, progress=False, concurrency=1)
    client.check()
    cands = [make_candidate("SimilarMaterial")]
    drafts, failed = draft_questions(cands, client, max_tokens=160)  # no images: today's text path
    assert set(drafts) | {cid for cid, _ in failed} == {cands[0].id}
    assert client.last_stats.sent == 1 and not any(d.vision for d in drafts.values())
    drafts = drafts or {cands[0].id: Draft(LEAKY, "draft:t")}  # a tiny model may write no valid draft
    run = check_drafts(cands, drafts, [], blind=BLIND, text_models={"smollm2-135m": client})
    assert run.checked == ["question-only probe (smollm2-135m, every option order)"]
    # every option order of the draft, without the images, up to the first wrong answer (which decides it)
    assert client.last_stats.sent >= 1 and client.last_stats.sent + client.last_stats.not_asked >= 3
    check = next(iter(drafts.values())).check
    assert check.startswith(("WARNING: a text-only model answers this draft", "OK: no probe answered"))


# ---------------------------------------------------------------------------------------------- check before pull


def test_check_sends_a_leaky_annotation_back_to_its_author(ls, annotators, project_name, make_candidate):
    from mmra.annotation import annotate, pull
    from mmra.annotation.check import check_project
    from mmra.annotation.users import annotate_task

    first, second = annotators
    cands = [make_candidate("SimilarMaterial") for _ in range(2)]
    push(ls, cands, project_name, show_progress=False)
    annotate(first, project_name, cands[0].id, LEAKY)  # gives the answer away
    annotate(second, project_name, cands[0].id, CLEAN)
    annotate(second, project_name, cands[1].id, CLEAN)
    dry = check_project(ls, project_name, reference=leaky_reference(), blind=BLIND, send=False)
    assert dry.flagged == 1 and dry.sent == 0
    project = Project.open(ls, project_name)
    assert len(project.tasks()) == 2  # a dry run reports, it sends nothing
    project.close()
    report = check_project(ls, project_name, reference=leaky_reference(), blind=BLIND, show_progress=False)
    assert report.probed == 3 and report.flagged == 1 and report.sent == 1
    assert report.annotators == {"annotator1@mmra.test": {"probed": 1, "flagged": 1, "sent": 1},
                                 "annotator2@mmra.test": {"probed": 2, "flagged": 0, "sent": 0}}
    item = report.flagged_items[0]
    assert item["annotator"] == "annotator1@mmra.test" and "bamboo" in item["reasons"][0]

    project = Project.open(ls, project_name)
    revision = project.tasks_by_external_id()[item["revision_task"]][0]
    assert revision.data["author"] == "annotator1@mmra.test" and revision.data["check_of"] == cands[0].id
    assert revision.data["revision_note"].startswith("FOR annotator1@mmra.test ONLY")
    preds = list(project.client.predictions.list(task=revision.id))
    assert QAContent.from_result(preds[0].result) == LEAKY  # their own version, pre-filled to edit
    # checking again sends nothing new
    again = check_project(ls, project_name, reference=leaky_reference(), blind=BLIND, show_progress=False)
    assert again.sent == 0 and again.flagged == 1 and again.waiting == 1

    # the author rewrites it in the revision task; someone else's annotation there does not count
    rewrite = QAContent("multiple_choice", "Which material do the two objects share, looking at both photos?",
                        ["steel", "bamboo", "glass"], "C")
    as_author = Project.open(first, project_name)
    annotate_task(as_author, revision.id, rewrite)
    as_author.close()
    annotate(second, project_name, item["revision_task"], CLEAN)
    project.close()
    pulled = pull(ls, project_name, ls.data_dir / f"{project_name}.jsonl", min_annotations=2)
    assert pulled.tasks == 2  # the revision task is no task of its own
    assert [(i["annotator"], i["external_id"]) for i in pulled.invalid] == [
        ("annotator2@mmra.test", item["revision_task"])]  # someone else's annotation there: reported, not used
    assert "for annotator1@mmra.test only" in pulled.invalid[0]["reason"]
    assert not [p for p in pulled.pending if p["external_id"].startswith("check-")]
    # the author's new version replaced the leaky one (answer B): both annotators now agree on C
    samples = read_jsonl(ls.data_dir / f"{project_name}.jsonl", Sample)
    assert [s.annotation.answers for s in samples] == [{"annotator1@mmra.test": "C", "annotator2@mmra.test": "C"}]
    after = check_project(ls, project_name, reference=leaky_reference(), blind=BLIND, show_progress=False)
    assert after.flagged == 0 and after.sent == 0 and after.waiting == 0  # the rewrite no longer leaks


# ---------------------------------------------------------------------------------------------- the command line


@pytest.fixture()
def workspace(tmp_path, ls_template, monkeypatch):
    from typer.testing import CliRunner

    from mmra.cli import app
    from mmra.procs import free_port

    from .conftest import LS_VENV

    data_dir = tmp_path / "ls-data"
    (tmp_path / "mmra.toml").write_text(
        f'[paths]\ncache = "{tmp_path / "cache"}"\n'
        f'[label_studio]\ndata_dir = "{data_dir}"\nvenv = "{LS_VENV}"\nport = {free_port()}\n'
        f'username = "{TEST_CREDS.username}"\n')
    (tmp_path / "cache").mkdir()
    # the migrated template the ls_template fixture built: serve starts in seconds
    (tmp_path / "cache" / ls_template.name).symlink_to(ls_template)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TEST_CREDS.token)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", TEST_CREDS.password)
    monkeypatch.setenv("FAKE_VLM_KEY", VisionEndpoint.KEY)
    yield tmp_path
    CliRunner().invoke(app, ["annotate", "serve", "--stop"])


def _run(*args):
    from typer.testing import CliRunner

    from mmra.cli import app

    result = CliRunner().invoke(app, ["annotate", *args])
    result.text = " ".join(result.output.split())  # rich wraps lines at the terminal width
    return result


def test_cli_vision_push_check_and_status_per_annotator(workspace, make_candidate):
    from mmra.annotation import annotate, connection, create_annotator
    from mmra.benchmark.records import write_jsonl
    from mmra.config import load_config

    from .conftest import ANNOTATOR_PASSWORD

    assert _run("serve").exit_code == 0
    cands = [make_candidate("SimilarMaterial"), make_candidate("SimilarMaterial"), make_candidate("NearSameEntity")]
    cands[0] = cands[0].model_copy(update={"evidence": cands[0].evidence.model_copy(update={
        "boxes": [Box(label="tray", bbox=(4, 6, 30, 24), image=1), Box(label="basket", bbox=(9, 9, 20, 20), image=2)]})})
    write_jsonl(workspace / "candidates.jsonl", cands)
    write_jsonl(workspace / "pulled.jsonl", leaky_reference())
    with VisionEndpoint() as endpoint:
        result = _run("push", "-c", "candidates.jsonl", "-p", "ux project", "--draft-vision",
                      "--draft-model", f"fake-vlm@{endpoint.url}#FAKE_VLM_KEY", "--probe-with", "pulled.jsonl",
                      "--embedder", "none")
        chats = [r for r in endpoint.requests if r.get("messages")]
    assert result.exit_code == 0, result.text
    assert "3 of 3 candidates have an LLM draft (fake-vlm; 3 from both images)" in result.text
    assert "draft check: 0 of 3 drafts answered without the images" in result.text
    assert len(chats) == 3 and all(len(VisionEndpoint.images_in(c)) == 2 for c in chats)
    assert "3 new" in result.text and "3 drafts added" not in result.text  # drafts arrive with the import

    conn = connection(load_config())
    first, second = (create_annotator(conn, f"ux{i}@mmra.test", ANNOTATOR_PASSWORD) for i in (1, 2))
    agree_c = QAContent("multiple_choice", CLEAN.question, CLEAN.options, "C")
    other_a = QAContent("multiple_choice", CLEAN.question, CLEAN.options, "A")
    near = QAContent("yes_no", "Is the same kind of entity near the person in both images?", [], "Yes")
    reject = QAContent(verdict="reject", reject_reason="the images do not match")
    annotate(first, "ux project", cands[0].id, LEAKY, lead_time=10)  # both give the answer away
    annotate(second, "ux project", cands[0].id, LEAKY, lead_time=30)
    annotate(first, "ux project", cands[1].id, agree_c, lead_time=20)
    annotate(second, "ux project", cands[1].id, other_a, lead_time=50)
    annotate(conn, "ux project", cands[1].id, agree_c, ground_truth=True)  # the admin (a reviewer) settles it
    annotate(first, "ux project", cands[2].id, near, lead_time=40)
    annotate(second, "ux project", cands[2].id, reject, lead_time=70)  # keep vs reject: still in review

    result = _run("check", "-p", "ux project", "--probe-with", "pulled.jsonl", "--embedder", "none")
    assert result.exit_code == 0, result.text
    assert "2 of 6 submitted questions flagged, 2 new revision tasks" in result.text
    assert "ux1@mmra.test" in result.text and "leaky" in result.text

    result = _run("status", "-p", "ux project", "--json")
    assert result.exit_code == 0, result.text
    figures = json.loads(result.stdout)
    assert figures["annotators"] == {
        TEST_CREDS.username: {"tasks_done": 1, "median_seconds": None, "settled": 1, "agreement": 1.0,
                              "questions": 1, "flagged": 0, "flagged_share": 0.0, "rejects": 0},
        "ux1@mmra.test": {"tasks_done": 3, "median_seconds": 20.0, "settled": 2, "agreement": 1.0,
                          "questions": 3, "flagged": 1, "flagged_share": 0.3333, "rejects": 0},
        "ux2@mmra.test": {"tasks_done": 3, "median_seconds": 50.0, "settled": 2, "agreement": 0.5,
                          "questions": 2, "flagged": 1, "flagged_share": 0.5, "rejects": 1},
    }
    assert figures["subtasks"] == {
        "NearSameEntity": {"tasks": 1, "annotations": 2, "target": 2, "complete": 1, "yes_share": 1.0,
                           "yes_no_answers": 1, "letters": {"A": 0, "B": 0, "C": 0, "D": 0}},
        "SimilarMaterial": {"tasks": 2, "annotations": 5, "target": 4, "complete": 2, "yes_share": None,
                            "yes_no_answers": 0, "letters": {"A": 1, "B": 2, "C": 2, "D": 0}},
    }
    result = _run("status", "-p", "ux project")
    assert result.exit_code == 0 and "annotators in 'ux project'" in result.text
    assert "1 of 3 (33%)" in result.text and "5 / 4" in result.text

    # bad input: one line each, no traceback
    for args, message in ((("status", "--json"), "--json needs --project"),
                          (("check", "-p", "no such project", "--embedder", "none"), "no Label Studio project titled"),
                          (("push", "-c", "candidates.jsonl", "-p", "ux project", "--draft-vision"),
                           "--draft-vision needs --draft-model"),
                          (("check", "-p", "ux project", "--probe-with", "gone.jsonl"), "gone.jsonl (--probe-with) does not exist")):
        result = _run(*args)
        assert result.exit_code != 0 and message in result.text and "Traceback" not in result.output, result.text


def test_the_demo_shows_the_annotators_side(ls, annotators, make_candidate):
    from mmra.annotation import annotate
    from mmra.demo.run import PROJECT, _annotator_view

    cands = [make_candidate("SimilarMaterial") for _ in range(2)]
    push(ls, cands, PROJECT, show_progress=False)
    for who in annotators:
        for cand in cands:
            annotate(who, PROJECT, cand.id, CLEAN, lead_time=12)
    lines = _annotator_view(ls)
    assert lines[0].startswith("annotate check (dry run, SCRIPTED accounts): 0 of 4 submitted questions")
    assert "annotate status (SCRIPTED): annotator1@mmra.test: 2 tasks, median 12 s per task, agreement 100% of 2 " \
           "settled, 0 of 2 questions flagged by the probes, 0 rejects" in lines
    assert any(line.endswith("SimilarMaterial: 4/4 annotations, letters A/B/C/D 0/0/4/0") for line in lines)
    project = Project.open(ls, PROJECT)
    assert len(project.tasks()) == 2  # nothing was sent back
    project.close()


def test_two_annotators_writing_the_same_question_do_not_flag_each_other():
    """Annotators of one task mostly agree; probed together, each copy would give the other's answer away (the
    learned probe's "gold elsewhere" feature). One annotation per task per run keeps the probe honest."""
    from mmra.annotation.check import _probe_by_rounds, probe_questions

    rng = random.Random(3)
    items = []
    for t in range(30):
        mats, gold = [f"{m} ({t})" for m in rng.sample(MATERIALS, 3)], rng.randrange(3)  # options of this pair
        question = f"Which material do the objects in pair {t} share?"
        for who in ("a", "b"):  # the same question from both annotators of the task
            sample = Sample(id=f"ann-{t}{who}", subtask="SimilarMaterial", qa_type="multiple_choice",
                            question=question, options=mats, answer=LETTERS[gold], candidate_id=f"pair-{t}",
                            image1=ImageRef(path=f"missing:{t}a.png"), image2=ImageRef(path=f"missing:{t}b.png"))
            items.append(({"id": t}, None, sample))
    together = probe_questions([s for _, _, s in items], blind=BLIND)
    by_rounds = _probe_by_rounds(items, [], blind=BLIND)
    assert sum(f.leaky for f in together.findings.values()) >= 20  # the copies answer each other
    assert sum(f.leaky for f in by_rounds.findings.values()) == 0 and len(by_rounds.findings) == 60
