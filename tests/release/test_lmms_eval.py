"""The lmms-eval export shipped in a release: the YAML loads the way lmms-eval loads it (`!function` resolved
from utils.py beside the YAML), and utils.py's functions work on a real row of the release."""

from __future__ import annotations

import importlib.util
import os

import datasets
import pytest
import yaml
from PIL import Image

from mmra.benchmark.answers import extract_answer
from mmra.benchmark.prompts import question_text
from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import publish
from mmra.benchmark.schema import QAType

from .conftest import make_sample_records


def _load_like_lmms_eval(yaml_path):
    """lmms-eval's `load_yaml_config(mode="full")`: `!function module.fn` imports module.py from the YAML's folder."""

    class Loader(yaml.FullLoader):
        pass

    def import_function(loader, node):
        module_name, fn = loader.construct_scalar(node).rsplit(".", 1)
        path = os.path.join(os.path.dirname(loader.name), f"{module_name}.py")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, fn)

    Loader.add_constructor("!function", import_function)
    with open(yaml_path, "rb") as fh:
        return yaml.load(fh, Loader=Loader)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lmms")
    path = write_jsonl(folder / "samples.jsonl", make_sample_records(folder, 22, flag_every=0))
    return publish(path, "1.0.0", folder / "store", name="bench", show_progress=False)


def test_task_yaml_loads_and_its_dataset_is_the_release(release):
    cfg = _load_like_lmms_eval(release.path / "lmms_eval" / "mmra_bench.yaml")
    assert cfg["task"] == "mmra_bench" and cfg["test_split"] == "test" and cfg["output_type"] == "generate_until"
    for key in ("doc_to_visual", "doc_to_text", "doc_to_target", "process_results"):
        assert callable(cfg[key])
    assert all(callable(m["aggregation"]) for m in cfg["metric_list"])
    # lmms-eval resolves relative data_files against the YAML folder, then calls load_dataset like this
    files = [os.path.normpath(release.path / "lmms_eval" / f) for f in cfg["dataset_kwargs"]["data_files"]["test"]]
    ds = datasets.load_dataset(cfg["dataset_path"], data_files={"test": files})
    assert list(ds) == ["test"] and len(ds["test"]) == 22


def test_utils_functions_on_release_rows(release):
    cfg = _load_like_lmms_eval(release.path / "lmms_eval" / "mmra_bench.yaml")
    kwargs = cfg["lmms_eval_specific_kwargs"]["default"]
    ds = datasets.load_dataset(str(release.path), split="test")
    results = []
    for i, doc in enumerate(ds):
        visuals = cfg["doc_to_visual"](doc)
        assert len(visuals) == 2 and all(isinstance(v, Image.Image) and v.mode == "RGB" for v in visuals)
        text = cfg["doc_to_text"](doc, kwargs)
        qa = QAType.multiple_choice if doc["QA_type"] == "Choice QA" else QAType.yes_no
        assert text == question_text(doc["question"], doc["options_list"], qa)  # the toolkit's own prompt
        assert cfg["doc_to_target"](doc) == doc["answer"]
        if i % 3 == 0:
            response = "I cannot see any images."  # refusal: wrong and unparsed
        elif qa == QAType.yes_no:
            response = f"{doc['answer']}, clearly."
        else:
            response = f"The answer is ({doc['answer']})."
        out = cfg["process_results"](doc, [response])
        assert set(out) == {m["metric"] for m in cfg["metric_list"]}
        results.append(out["mmra_accuracy"])
    ok = [r for i, r in enumerate(results) if i % 3]
    assert all(r["score"] == 1.0 and r["status"] == "ok" for r in ok)
    assert all(r["score"] == 0.0 and r["status"] == "refusal" for i, r in enumerate(results) if i % 3 == 0)
    acc = cfg["metric_list"][0]["aggregation"](results)
    assert acc == pytest.approx(len(ok) / len(results))
    assert cfg["metric_list"][1]["aggregation"](results) == pytest.approx(1 - len(ok) / len(results))
    utils = cfg["doc_to_text"].__globals__
    per = utils["mmra_scores"](results)
    assert set(k for k in per if k.startswith("task/")) == {f"task/{t}" for t in set(ds["Task"])}
    assert {"level/entity", "level/image", "overall"} <= set(per)


@pytest.mark.parametrize("response, qa, options", [
    ("A man is riding a horse. The answer is C.", "multiple_choice", ["x", "y", "z"]),
    ("B", "multiple_choice", ["x", "y", "z", "w"]),
    ("It must be D", "multiple_choice", ["x", "y", "z"]),
    ("the answer is B, not C", "multiple_choice", ["x", "y", "z"]),
    ("no, definitely not", "yes_no", []),
    ("Yes... although no", "yes_no", []),
    ('{"answer": "C"}', "multiple_choice", ["x", "y", "z", "w"]),
    ("", "yes_no", []),
])
def test_exported_extraction_is_the_toolkits(release, response, qa, options):
    cfg = _load_like_lmms_eval(release.path / "lmms_eval" / "mmra_bench.yaml")
    utils = cfg["process_results"].__globals__
    exported = utils["extract_answer"](response, utils["QAType"](qa), options)
    ours = extract_answer(response, QAType(qa), options)
    assert (exported.answer, exported.status, exported.method) == (ours.answer, ours.status, ours.method)


@pytest.mark.parametrize("profile", ["default", "paper"])
def test_doc_to_messages_is_what_mmra_eval_sends(release, profile):
    """lmms-eval chat models get the same interleaved parts, in the same order, with the same pixels, as
    `mmra eval` builds for the IQ setting."""
    import numpy as np

    from mmra.eval.data import load_dataset_samples, load_image
    from mmra.eval.items import EvalItem, build_prompt

    cfg = _load_like_lmms_eval(release.path / "lmms_eval" / "mmra_bench.yaml")
    ds = datasets.load_dataset(str(release.path), split="test")
    loaded = load_dataset_samples(release.path)
    by_id = {s.id: s for s in loaded.samples}
    for doc in ds:
        (message,) = cfg["doc_to_messages"](doc, {**cfg["lmms_eval_specific_kwargs"]["default"], "profile": profile})
        sample = by_id[doc["id"]]
        images = [load_image(sample, k, loaded.base_dir) for k in ("image1", "image2")]
        prompt = build_prompt(EvalItem(sample.id, sample, sample.id, "orig"), "IQ", profile, None, images)
        assert message["role"] == "user"
        assert [p["type"] for p in message["content"]] == [p["type"] for p in prompt.parts]
        assert [p.get("text") for p in message["content"]] == [p.get("text") for p in prompt.parts]
        sent = [p["url"] for p in message["content"] if p["type"] == "image"]
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(sent, prompt.images, strict=True))


def test_yaml_lists_a_metric_per_level_and_subtask(release):
    cfg = _load_like_lmms_eval(release.path / "lmms_eval" / "mmra_bench.yaml")
    ds = datasets.load_dataset(str(release.path), split="test")
    names = [m["metric"] for m in cfg["metric_list"]]
    assert names[:4] == ["mmra_accuracy", "mmra_unparsed", "mmra_level_entity", "mmra_level_image"]
    assert set(names[4:]) == {f"mmra_task_{t}" for t in set(ds["Task"])}
    doc = ds[0]
    out = cfg["process_results"](doc, [f"({doc['answer']})" if doc["options_list"] else doc["answer"]])
    for metric in cfg["metric_list"]:
        value = metric["aggregation"]([out[metric["metric"]]])
        relevant = metric["metric"] in ("mmra_accuracy", f"mmra_task_{doc['Task']}", f"mmra_level_{doc['granularity']}")
        assert value == (0.0 if metric["metric"] == "mmra_unparsed" else 1.0 if relevant else 0.0)
