"""Fixtures for the curation tests: the real shared data, and real broken files made from it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(scope="session")
def coco(shared_data: Path) -> dict[str, Path]:
    ann = shared_data / "coco-mini" / "annotations"
    return {
        "root": shared_data / "coco-mini",
        "instances": [ann / "instances_val2017.json", ann / "instances_train2017.json"],
        "captions": [ann / "captions_train2017.json", ann / "captions_val2017_full.json"],
        "ckbc": shared_data / "conceptnet" / "ckbc-train100k.tsv.gz",
    }


@pytest.fixture(scope="session")
def shared_run(coco, tmp_path_factory):
    """One real curation over ConceptNet-100K + both COCO-MINI splits (shared by several tests)."""
    from mmra.curation.pipeline import curate

    out = tmp_path_factory.mktemp("shared-run")
    return curate(out_dir=out, conceptnet=[coco["ckbc"]], coco_instances=coco["instances"],
                  coco_captions=coco["captions"], images=[coco["root"]], per_subtask=25, seed=7,
                  show_progress=False)


@pytest.fixture()
def broken_inputs(coco, tmp_path) -> dict[str, Path]:
    """A small real corpus with one of each kind of bad input:
    - a ConceptNet 5-column CSV (gzipped) with a broken line (line 3);
    - a COCO instances file with an unknown category id, an image whose file is missing, a truncated JPEG,
      a corrupt file and a near-duplicate (a resized copy of another image)."""
    data = json.loads(coco["instances"][0].read_text())
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    keep = data["images"][:12]
    for image in keep:
        shutil.copy(coco["root"] / "val2017" / image["file_name"], images_dir / image["file_name"])
    missing, truncated, corrupt, dup_src, dup = keep[0], keep[1], keep[2], keep[3], keep[4]
    (images_dir / missing["file_name"]).unlink()
    blob = (images_dir / truncated["file_name"]).read_bytes()
    (images_dir / truncated["file_name"]).write_bytes(blob[: len(blob) // 3])
    (images_dir / corrupt["file_name"]).write_bytes(b"this is not a jpeg at all" * 50)
    with Image.open(images_dir / dup_src["file_name"]) as img:  # a re-encoded, resized copy: a near-duplicate
        img.resize((img.width * 3 // 4, img.height * 3 // 4)).save(images_dir / dup["file_name"], quality=85)
    ids = {i["id"] for i in keep}
    anns = [a for a in data["annotations"] if a["image_id"] in ids]
    bad_ann = dict(anns[0], id=999_000_001, category_id=4242)
    instances = {**data, "images": keep, "annotations": [*anns, bad_ann]}
    inst_path = tmp_path / "instances_val2017.json"
    inst_path.write_text(json.dumps(instances))
    caps = json.loads((coco["captions"][1]).read_text())
    caps = {**caps, "images": [i for i in caps["images"] if i["id"] in ids],
            "annotations": [a for a in caps["annotations"] if a["image_id"] in ids]}
    cap_path = tmp_path / "captions_val2017.json"
    cap_path.write_text(json.dumps(caps))
    # ConceptNet: the CKBC edges rewritten as official 5-column assertions, with one broken line
    lines = []
    with gzip.open(coco["ckbc"], "rt", encoding="utf-8") as fh:
        for n, row in enumerate(fh):
            if n >= 30_000:
                break
            rel, head, tail, weight = row.rstrip("\n").split("\t")
            h, t = "/c/en/" + head.replace(" ", "_"), "/c/en/" + tail.replace(" ", "_") + "/n"
            lines.append(f"/a/[/r/{rel}/,{h}/,{t}/]\t/r/{rel}\t{h}\t{t}\t"
                         f'{{"dataset": "/d/conceptnet/4/en", "weight": {float(weight)}}}')
    lines.insert(2, "/a/[/r/IsA/,/c/en/broken/]\t/r/IsA\t/c/en/broken")  # line 3: only 3 fields
    cn_path = tmp_path / "assertions.csv.gz"
    with gzip.open(cn_path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return {"instances": inst_path, "captions": cap_path, "images": images_dir, "conceptnet": cn_path,
            "missing": missing["file_name"], "truncated": truncated["file_name"], "corrupt": corrupt["file_name"],
            "dup": dup["file_name"], "dup_src": dup_src["file_name"], "missing_id": missing["id"],
            "truncated_id": truncated["id"], "corrupt_id": corrupt["id"], "dup_id": dup["id"],
            "dup_src_id": dup_src["id"]}
