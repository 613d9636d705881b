"""Parts that need no server: agreement maths, the labeling config, result parsing, drafts, media, env."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

from mmra.annotation.agreement import cohen_kappa, fleiss_kappa, keep_reject_kappa
from mmra.annotation.labeling import ENTITY_LABELS, TEXT_FIELDS, QAContent, label_config, task_data
from mmra.annotation.media import link_image
from mmra.annotation.preannotate import draft_messages, parse_draft
from mmra.annotation.server import Credentials, server_env
from mmra.benchmark.schema import Candidate, ImageRef


def test_cohen_kappa_textbook_example():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5 -> 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([("keep", "keep")] * 3) is None  # one label only: undefined, not 1.0 or a crash
    assert cohen_kappa([]) is None


def test_fleiss_kappa_matches_hand_computation():
    items = [["a", "a", "a"], ["a", "a", "b"], ["b", "b", "b"], ["a", "b", "b"]]
    # P_i = 1, 1/3, 1, 1/3 -> P = 2/3; p_a = p_b = 1/2 -> Pe = 1/2 -> kappa = 1/3
    assert fleiss_kappa(items) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        fleiss_kappa([["a", "a"], ["a", "a", "b"]])


def test_keep_reject_kappa_picks_cohen_or_fleiss():
    two = [{"x": "keep", "y": "keep"}, {"x": "keep", "y": "reject"}, {"x": "reject", "y": "reject"}]
    kappa, method, used = keep_reject_kappa(two)
    assert method == "cohen" and used == 3 and kappa == pytest.approx(cohen_kappa(
        [("keep", "keep"), ("keep", "reject"), ("reject", "reject")]))
    mixed = two + [{"x": "keep", "z": "keep"}]
    assert keep_reject_kappa(mixed)[1] == "fleiss"
    assert keep_reject_kappa([{"x": "keep"}]) == (None, None, 0)


def test_label_config_is_xml_and_every_variable_is_in_task_data(make_image):
    config = label_config()
    root = ET.fromstring(config)
    names = [el.get("name") for el in root.iter() if el.get("name")]
    assert len(names) == len(set(names))
    cand = Candidate(subtask="SimilarMaterial", image1=ImageRef(path=str(make_image("a.png"))),
                     image2=ImageRef(path=str(make_image("b.png", shape_seed=3))), suggested_question='<b>"x"</b>')
    data = task_data(cand, ("a.png", "b.png"))
    variables = set(re.findall(r'value="\$(\w+)"', config))
    assert variables == {*TEXT_FIELDS, "image1", "image2", *ENTITY_LABELS.values()} and variables <= data.keys()
    assert '<b>"x"</b>' not in config and data["suggested_question"] == '<b>"x"</b>'  # text is data, not markup
    assert "MadeOf" in data["subtask_info"] and data["external_id"] == cand.id
    assert {el.get("value") for el in root.iter("Header")} >= {"Image 1", "Image 2"}


def test_result_round_trip_and_agreement_key():
    content = QAContent("multiple_choice", "Q?", ["wood", "Steel ", "glass"], "b")
    back = QAContent.from_result(content.to_result())
    assert back == QAContent("multiple_choice", "Q?", ["wood", "Steel", "glass"], "b", "keep", "")  # trimmed
    same = QAContent("multiple_choice", "Other wording?", ["Wood", "steel", "glass"], "B")
    assert back.key() == same.key()
    # empty trailing option fields mean fewer options, an empty middle one stays (and fails validation later)
    result = content.to_result() + [{"from_name": "option_d", "value": {"text": [""]}}]
    assert QAContent.from_result(result).options == ["wood", "Steel", "glass"]


def test_parse_draft(make_image):
    cand = Candidate(subtask="MentalitySimilarity", image1=ImageRef(path=str(make_image("a.png"))),
                     image2=ImageRef(path=str(make_image("b.png", shape_seed=2))))
    text = 'Sure! {"qa_type": "multiple_choice", "question": "Which feeling?", "options": ["joy", "fear", "anger"], "answer": "fear"}'
    draft = parse_draft(text, cand)
    assert (draft.answer, draft.options) == ("B", ["joy", "fear", "anger"])
    assert parse_draft('{"qa_type": "yes_no", "question": "Both happy?", "answer": "yes"}', cand).answer == "Yes"
    for bad, why in [("no json", "no JSON"), ('{"question": "", "options": ["a","b","c"], "answer": "A"}', "empty"),
                     ('{"question": "Q", "options": ["a", "b"], "answer": "A"}', "3-4 distinct"),
                     ('{"question": "Q", "options": ["a", "b", "c"], "answer": "zebra"}', "not one of")]:
        with pytest.raises(ValueError, match=why):
            parse_draft(bad, cand)
    prompt = draft_messages(cand)[1]["content"]
    assert "MentalitySimilarity" in prompt and "yes_no" in prompt


def test_link_image_is_content_addressed(make_image, tmp_path):
    src = make_image("photo.png")
    media = tmp_path / "media"
    name, sha = link_image(ImageRef(path=str(src)), media)
    assert name == f"{sha}.png" and (media / name).read_bytes() == src.read_bytes()
    assert link_image(ImageRef(path=str(src)), media) == (name, sha)  # re-push: same file, no copy
    assert link_image(ImageRef(bytes=src.read_bytes()), media) == (name, sha)
    with pytest.raises(ValueError, match="changed since it was curated"):
        link_image(ImageRef(path=str(src), sha256="0" * 64), media)
    with pytest.raises(ValueError, match="does not exist"):
        link_image(ImageRef(path=str(tmp_path / "nope.png")), media)
    assert not (media / name).is_symlink() and (media / name).stat().st_nlink == 1  # a copy, never a link
    assert (media / name).stat().st_mode & 0o777 == 0o640  # not world-readable


def test_server_env_is_offline_and_scrubbed(tmp_path):
    base = {"PATH": os.environ.get("PATH", ""), "HOST": "0.0.0.0", "PORT": "80", "CI": "true", "DEBUG": "1",
            "USERNAME": "x", "PASSWORD": "y", "LABEL_STUDIO_HOST": "http://evil", "LABEL_STUDIO_API_KEY": "k"}
    env = server_env(tmp_path, tmp_path / "media-root", Credentials("a@b.c", "pw-12345678", "t" * 40), base)
    for name in ("HOST", "PORT", "CI", "DEBUG", "USERNAME", "PASSWORD", "LABEL_STUDIO_HOST", "LABEL_STUDIO_API_KEY"):
        assert name not in env
    assert env["LABEL_STUDIO_LATEST_VERSION_CHECK"] == "false" and env["LABEL_STUDIO_COLLECT_ANALYTICS"] == "false"
    assert env["SENTRY_DSN"] == "" and env["FRONTEND_SENTRY_DSN"] == ""
    assert env["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] == str(tmp_path / "media-root")


def test_generated_credentials_are_private_and_env_secrets_never_written(tmp_path, monkeypatch):
    from mmra.annotation.server import CREDENTIALS_FILE, credentials
    from mmra.config import LabelStudioConfig

    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", "from-the-environment-1")
    cfg = LabelStudioConfig(data_dir=tmp_path / "ls")
    creds = credentials(cfg, create=True)
    stored = (tmp_path / "ls" / CREDENTIALS_FILE)
    assert stored.stat().st_mode & 0o777 == 0o600
    assert "from-the-environment-1" not in stored.read_text() and creds.token in stored.read_text()
    assert credentials(cfg) == creds  # the same account next time
