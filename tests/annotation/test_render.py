"""A pushed task rendered by Label Studio's real UI in headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import shutil

import pytest

from mmra.annotation import Draft, QAContent, push
from mmra.annotation.project import Project

from .conftest import TEST_CREDS

pytestmark = pytest.mark.labelstudio

HOSTILE = 'Is it <script>window.__mmra_xss = 1</script> the "same" <b>thing</b>?'


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed: run `make setup-system` (Debian package `chromium`)")
    return path


def test_task_renders_images_and_text_as_text(ls, project_name, make_candidate, artifacts_dir):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    cand = make_candidate("UsageSimilarity", question=HOSTILE)
    draft = Draft(QAContent("multiple_choice", HOSTILE, ["cutting", 'a "quoted" use', "<i>flying</i>"], "A"), "draft:t")
    push(ls, [cand], project_name, drafts={cand.id: draft}, show_progress=False)
    project = Project.open(ls, project_name)
    task = project.tasks_by_external_id()[cand.id][0]
    project.close()

    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{ls.url}/user/login/")
            page.fill("input[name=email]", TEST_CREDS.username)
            page.fill("input[name=password]", TEST_CREDS.password)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url, timeout=30_000)
            page.goto(f"{ls.url}/projects/{project.id}/data?tab=0&task={task.id}")
            page.get_by_text("Image 2", exact=True).first.wait_for(timeout=60_000)
            page.wait_for_function(
                """() => { const imgs = [...document.querySelectorAll('img')]
                       .filter(i => i.src.includes('/data/local-files/'));
                       return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
                timeout=60_000)
            page.get_by_text("Why these two images were paired", exact=False).first.wait_for(timeout=30_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(artifacts_dir / "annotation_task_render.png"), full_page=True)
            body = page.inner_text("body")
            textareas = page.eval_on_selector_all("textarea", "els => els.map(e => e.value)")
            loaded = page.eval_on_selector_all(
                "img", "els => els.filter(i => i.src.includes('/data/local-files/')).map(i => i.naturalWidth)")
            xss = page.evaluate("() => window.__mmra_xss")
            injected_bold = page.eval_on_selector_all("b", "els => els.filter(e => e.textContent === 'thing').length")
        finally:
            browser.close()

    assert loaded == [80, 80]  # both images (80x64) served through local files and decoded
    for label in ("Image 1", "Image 2", "UsageSimilarity", "knife --UsedFor--> cut", "Question type",
                  "Correct answer", "Keep this sample?", "multiple_choice", "yes_no", "keep", "reject"):
        assert label in body, label
    assert HOSTILE in body  # the suggested question, shown as literal text
    assert xss is None and injected_bold == 0  # no script ran, no markup was interpreted
    shown = body + "\n".join(textareas)
    assert 'a "quoted" use' in shown and "<i>flying</i>" in shown  # the pre-filled draft, as text
