"""Publishing to a local store and loading it back with real `datasets` / parquet."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import random

import datasets
import pytest
from huggingface_hub import DatasetCard
from PIL import Image

from mmra.benchmark.records import write_jsonl
from mmra.benchmark.release import ReleaseConflictError, ReleaseStore, load_release, publish
from mmra.benchmark.release.validity import UncheckedSamplesError, ValidityOptions
from mmra.benchmark.subtasks import BUILTIN_SUBTASKS

MMRA_TASKS = {s.name for s in BUILTIN_SUBTASKS}


def _publish(path, version="1.0.0", store=None, **kw):
    # these tests compare rows with their sources field by field: the answer key stays as written
    # (balancing is tested in test_balance_gate.py)
    kw.setdefault("validity", ValidityOptions(balance=False))
    return publish(path, version, store, name=kw.pop("name", "bench"), show_progress=False, **kw)


def test_publish_then_load_dataset_gives_mmra_rows(tmp_path, samples_file):
    path, samples = samples_file(22)
    result = _publish(path, store=tmp_path / "store", cards_dir=tmp_path / "cards")
    assert result.status == "published" and result.num_samples == 22

    # plain datasets code, as a user of the Hub repo would write it (README configs are read)
    ds = datasets.load_dataset(str(result.path), split="test")
    flagged = {s.id for s in samples if s.leakage is not None and s.leakage.leaked}
    assert len(flagged) == 3  # samples 0, 10, 20: in the `flagged` config, not in the default one
    assert sorted(datasets.load_dataset(str(result.path), "flagged", split="test")["id"]) == sorted(flagged)
    by_id = {s.id: s for s in samples}
    assert sorted(ds["id"]) == sorted(set(by_id) - flagged)
    for row in ds:
        s = by_id[row["id"]]
        assert row["Task"] == s.subtask and row["Task"] in MMRA_TASKS
        assert row["question"] == s.question
        if s.options:
            assert row["QA_type"] == "Choice QA"
            opts = ast.literal_eval(row["options"])
            assert opts == {"ABCD"[i]: o for i, o in enumerate(s.options)}
            assert row["answer"] in opts
        else:
            assert row["QA_type"] == "True or false QA"
            assert row["options"] is None and row["answer"] in ("Yes", "No")
        for k, ref in ((1, s.image1), (2, s.image2)):
            img = row[f"image{k}"]
            assert isinstance(img, Image.Image) and img.size == (96, 72)
            original = (tmp_path / ref.path).read_bytes()
            assert row[f"image{k}_sha256"] == hashlib.sha256(original).hexdigest()
        assert row["version"] == "1.0.0"
        assert json.loads(row["provenance"])["edges"][0]["head"] == "knife"
        if s.leakage is not None:
            assert row["leakage_checked"] and row["leakage_flagged"] == s.leakage.leaked
            assert "run" not in json.loads(row["leakage"])  # local paths are not published
    # images are embedded bytes, identical to the source files
    raw = datasets.load_dataset(str(result.path), split="test").cast_column("image1", datasets.Image(decode=False))
    first = raw[0]
    assert hashlib.sha256(first["image1"]["bytes"]).hexdigest() == first["image1_sha256"]

    # m-a-p/MMRA users index ["train"]: the alias holds the same rows in the same order
    both = datasets.load_dataset(str(result.path))
    assert set(both) == {"test", "train"} and both["train"]["id"] == both["test"]["id"]
    entity = datasets.load_dataset(str(result.path), "entity_level", split="test")
    assert set(entity["granularity"]) == {"entity"} and 0 < len(entity) < 19

    # the card, in the release and in data_cards/, with YAML the Hub understands
    card_path = tmp_path / "cards" / "bench" / "1.0.0" / "README.md"
    assert result.card_path == card_path
    assert card_path.read_text() == (result.path / "README.md").read_text()
    card = DatasetCard.load(card_path)
    assert card.data.license == "cc-by-sa-4.0"  # CC-BY images + CC-BY-SA-2.0 images + ConceptNet
    assert card.data.size_categories == ["n<1K"]
    assert [c["config_name"] for c in card.data.configs] == ["default", "entity_level", "image_level", "flagged"]
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(card.data)
    assert infos["default"].splits["test"].num_examples == 19 and infos["flagged"].splits["test"].num_examples == 3
    assert "| SubEvent (SubE) | image |" in card.text and "## Changelog" in card.text and "@article{wu2024mmra" in card.text
    for plot in ("counts", "answer_balance", "agreement_leakage"):
        for base in (result.path, card_path.parent):
            png = base / "plots" / f"{plot}.png"
            assert Image.open(png).format == "PNG" and png.stat().st_size > 5000

    # load_release (the eval runner's entry point) gives the same rows
    loaded = load_release(str(tmp_path / "store" / "bench"))
    assert loaded["id"] == ds["id"] and loaded.features["image1"] == datasets.Image()


def test_rebuild_gives_identical_bytes_and_republish_is_a_no_op(tmp_path, samples_file):
    path, samples = samples_file(22)
    shuffled = list(samples)
    random.Random(3).shuffle(shuffled)
    path2 = write_jsonl(tmp_path / "shuffled.jsonl", shuffled)
    a = _publish(path, store=tmp_path / "a", max_shard_bytes=10_000)  # several shards per level
    b = _publish(path2, store=tmp_path / "b", max_shard_bytes=10_000)
    assert a.fingerprint == b.fingerprint
    files_a = [f["path"] for f in a.manifest["data_files"]]
    assert len(files_a) > 2 and files_a == [f["path"] for f in b.manifest["data_files"]]
    for rel in files_a:
        assert (a.path / rel).read_bytes() == (b.path / rel).read_bytes()
    for rel in ("plots/counts.png", "plots/answer_balance.png", "lmms_eval/utils.py"):
        assert (a.path / rel).read_bytes() == (b.path / rel).read_bytes()
    # the same file published into another store: every byte of the release is the same
    c = _publish(path, store=tmp_path / "c", max_shard_bytes=10_000)
    files = sorted(p.relative_to(a.path) for p in a.path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(c.path) for p in c.path.rglob("*") if p.is_file())
    assert all((a.path / f).read_bytes() == (c.path / f).read_bytes() for f in files)

    before = {p: p.stat().st_mtime_ns for p in a.path.rglob("*")}
    again = _publish(path2, store=tmp_path / "a", max_shard_bytes=10_000)
    assert again.status == "unchanged" and again.fingerprint == a.fingerprint
    assert {p: p.stat().st_mtime_ns for p in a.path.rglob("*")} == before


def test_same_version_with_other_content_is_refused(tmp_path, samples_file):
    path, samples = samples_file(12)
    first = _publish(path, store=tmp_path / "store")
    changed = [samples[0].model_copy(update={"question": "A rewritten question?"}), *samples[1:]]
    path2 = write_jsonl(tmp_path / "changed.jsonl", changed)
    before = {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()}
    with pytest.raises(ReleaseConflictError, match=r"bench 1\.0\.0 is already published.*1 changed"):
        _publish(path2, store=tmp_path / "store")
    assert {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()} == before
    assert ReleaseStore(tmp_path / "store").versions("bench") == ["1.0.0"]
    assert _publish(path2, "1.0.1", store=tmp_path / "store").status == "published"
    assert ReleaseStore(tmp_path / "store").latest("bench") == "1.0.1"


def test_mmra_format_jsonl_is_republished_with_its_strings(tmp_path, make_image):
    (tmp_path / "pics").mkdir()
    rows = []
    for i, (task, qa, options, answer) in enumerate([
        ("UsageSimilarity", "Choice QA", "{'A': 'cutting', 'B': \"it's for eating\", 'C': 'sleeping'}", "A"),
        ("SubEvent", "True or false QA", None, "No"),
        ("Environment", "Chooice QA", "{'A': 'indoors', 'B': 'outdoors', 'C': 'underwater', 'D': 'in space'}", "B"),
    ]):
        make_image(f"pics/{i}a.png", shape_seed=i * 2)
        make_image(f"pics/{i}b.png", color=(0, 90, 200), shape_seed=i * 2 + 1)
        rows.append({"Task": task, "QA_type": qa, "question": f"Q{i}?", "image1": f"pics/{i}a.png",
                     "image2": f"pics/{i}b.png", "options": options, "answer": answer})
    src = tmp_path / "mmra.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UncheckedSamplesError, match="3 sample"):  # MMRA's format carries no leakage check
        _publish(src, store=tmp_path / "store", name="legacy")
    result = _publish(src, store=tmp_path / "store", name="legacy",
                      validity=ValidityOptions(balance=False, publish_unchecked=True))
    assert result.manifest["source"]["format"] == "mmra"
    assert result.manifest["validity"]["unchecked"] == {"n": 3, "missing": 3, "failed": 0}
    ds = load_release(str(result.path))
    got = {r["question"]: r for r in ds}
    for r in rows:
        row = got[r["question"]]
        assert row["Task"] == r["Task"] and row["answer"] == r["answer"]
        assert row["QA_type"] == ("Choice QA" if r["QA_type"] == "Chooice QA" else r["QA_type"])
        if r["options"]:
            assert ast.literal_eval(row["options"]) == ast.literal_eval(r["options"])
        else:
            assert row["options"] is None
        assert isinstance(row["image2"], Image.Image)


def test_load_release_references(tmp_path, samples_file):
    path, samples = samples_file(6, flag_every=0)  # every sample in the default config
    store = tmp_path / "store"
    _publish(path, "1.0.0", store=store)
    path2 = write_jsonl(tmp_path / "more.jsonl", samples[:4])
    _publish(path2, "1.1.0", store=store)
    _publish(path2, "2.0.0-rc.1", store=store)
    assert ReleaseStore(store).versions("bench") == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    assert len(load_release(str(store / "bench"))) == 4  # latest release, pre-releases excluded
    assert len(load_release(f"{store / 'bench'}@1.0.0")) == 6
    assert len(load_release(str(store / "bench"), revision="v1.0.0")) == 6
    assert len(load_release(str(store))) == 4  # a store holding one name
    assert len(load_release(str(store / "bench" / "1.0.0"))) == 6
    from mmra.benchmark.release.errors import ReleaseNotFoundError

    with pytest.raises(ReleaseNotFoundError, match="no version 3.0.0; it has 1.0.0, 1.1.0, 2.0.0-rc.1"):
        load_release(str(store / "bench"), revision="3.0.0")
    # a release changed in place is detected
    shard = next((store / "bench" / "1.0.0" / "data").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"x")
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        load_release(f"{store / 'bench'}@1.0.0")


def test_image_bytes_in_samples_are_embedded(tmp_path, samples_file):
    path, samples = samples_file(3)
    inline = []
    for s in samples:
        data = (tmp_path / s.image1.path).read_bytes()
        inline.append(s.model_copy(update={"image1": s.image1.model_copy(update={"path": None, "bytes_": data})}))
    src = write_jsonl(tmp_path / "inline.jsonl", inline)
    ds = load_release(str(_publish(src, store=tmp_path / "store").path))
    assert all(Image.open(io.BytesIO(r["image1"]["bytes"])).size == (96, 72)
               for r in ds.cast_column("image1", datasets.Image(decode=False)))


def test_a_dataset_in_mmra_layout_loads_its_train_split(tmp_path):
    """m-a-p/MMRA has only `train`; the loader used for Hub repos falls back to it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmra.benchmark.release.load import load_split

    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"Task": ["SubEvent"], "QA_type": ["True or false QA"], "answer": ["Yes"]}),
                   tmp_path / "data" / "train-00000-of-00001.parquet")
    ds = load_split(str(tmp_path))
    assert ds.split == "train" and ds[0]["Task"] == "SubEvent"


def test_build_dataset_in_memory_matches_the_release(tmp_path, samples_file):
    from mmra.benchmark.release import build_dataset

    path, _ = samples_file(8)
    mem = build_dataset(path, "1.0.0", keep_option_order=True)  # as _publish
    published = load_release(str(_publish(path, store=tmp_path / "store").path))
    assert mem.features == published.features
    assert mem["id"] == published["id"] and mem["options"] == published["options"]
    assert mem[0]["image1"].size == published[0]["image1"].size


def test_a_modified_flagged_file_is_detected(tmp_path, samples_file):
    """The `flagged` config is part of the release: its files are checked against the manifest too."""
    from mmra.benchmark.release.errors import ReleaseInputError
    from mmra.benchmark.release.refs import resolve_local

    path, _ = samples_file(22)
    result = _publish(path, "1.0.0", tmp_path / "store")
    local = resolve_local(str(result.path))
    flagged = local.manifest["flagged_files"]
    assert flagged, "the fixture flags every fifth sample"
    local.verify()
    target = result.path / flagged[0]["path"]
    target.chmod(0o644)
    target.write_bytes(target.read_bytes() + b"tampered")
    with pytest.raises(ReleaseInputError, match="does not match its manifest sha256"):
        local.verify()
